package connector

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// redactURLError strips the query string from the URL a *url.Error carries:
// result links are signed, and their signatures are secrets.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	return err
}

// RedactURL drops the query and user info of a URL, for logs and errors.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	u.Fragment = ""
	return u.String()
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isPrivateHost(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsPrivate() || ip.IsLinkLocalUnicast())
}

// downloader fetches result links, which are untrusted: it refuses to
// connect to loopback, private or link-local addresses (after DNS, so a name
// cannot point there) unless the API itself lives there. Without a proxy the
// check runs on the address dialled; through a proxy (from the environment)
// the link's host is resolved and checked before the request.
type downloader struct {
	direct, proxied *http.Client
	allowLocal      bool
	plainHTTP       bool // http links too: the API is a loopback sandbox
}

func newDownloader(allowLocal, plainHTTP bool) *downloader {
	d := &downloader{allowLocal: allowLocal, plainHTTP: plainHTTP}
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	if !allowLocal {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || isLocalIP(ip) {
				return fmt.Errorf("result link points at a local address %s", host)
			}
			return nil
		}
	}
	direct := http.DefaultTransport.(*http.Transport).Clone()
	direct.Proxy = nil
	direct.DialContext = dialer.DialContext
	proxied := http.DefaultTransport.(*http.Transport).Clone()
	proxied.Proxy = http.ProxyFromEnvironment
	redirect := func(resolve bool) func(*http.Request, []*http.Request) error {
		return func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if err := checkResultURL(req.URL, plainHTTP); err != nil {
				return err
			}
			if resolve {
				return d.checkResolved(req)
			}
			return nil
		}
	}
	d.direct = &http.Client{Transport: direct, Timeout: 30 * time.Minute, CheckRedirect: redirect(false)}
	d.proxied = &http.Client{Transport: proxied, Timeout: 30 * time.Minute, CheckRedirect: redirect(true)}
	return d
}

func (d *downloader) do(req *http.Request) (*http.Response, error) {
	if p, err := http.ProxyFromEnvironment(req); err != nil || p == nil {
		return d.direct.Do(req)
	}
	if err := d.checkResolved(req); err != nil {
		return nil, err
	}
	return d.proxied.Do(req)
}

// checkResolved refuses a link whose host resolves to a local address.
func (d *downloader) checkResolved(req *http.Request) error {
	if d.allowLocal {
		return nil
	}
	host := req.URL.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if isLocalIP(ip) {
			return fmt.Errorf("result link points at a local address %s", host)
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(req.Context(), host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if isLocalIP(a.IP) {
			return fmt.Errorf("result link host %s resolves to a local address %s", host, a.IP)
		}
	}
	return nil
}

func isLocalIP(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		ip.IsMulticast() || sharedAddressSpace.Contains(ip) || thisNetwork.Contains(ip)
}

// Ranges that are not the public internet either: carrier-grade NAT
// (RFC 6598), which reaches a provider's or a cluster's own hosts, and
// 0.0.0.0/8, which Linux routes to the machine itself.
var (
	sharedAddressSpace = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}
	thisNetwork        = &net.IPNet{IP: net.IPv4(0, 0, 0, 0), Mask: net.CIDRMask(8, 32)}
)

// checkResultURL enforces https (http only when the API is a loopback
// sandbox, as the API URL itself may be http only then).
func checkResultURL(u *url.URL, plainHTTP bool) error {
	if u.Scheme == "https" || (u.Scheme == "http" && plainHTTP) {
		return nil
	}
	return fmt.Errorf("result link %s: want https", RedactURL(u.String()))
}
