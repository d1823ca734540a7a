package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/wadeep/wadeep/emulator"
)

// A sandbox driven by a manual clock: no sleeping, no charges, same answers
// every run.
func Example() {
	clock := emulator.NewManualClock(time.Date(2024, 10, 19, 18, 24, 56, 0, time.UTC))
	sandbox := emulator.New(
		emulator.WithClock(clock),
		emulator.WithSeed(1),
		emulator.WithSpeed(1), // one number per second
		emulator.WithStartDelay(10*time.Second),
		emulator.WithExportDelay(5*time.Second),
	)
	srv := httptest.NewServer(sandbox)
	defer srv.Close()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("user_id", "test")
	fw, _ := mw.CreateFormFile("file", "input.txt")
	fw.Write([]byte("+41798284651\n+12025550123\n+447911123456\n"))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+emulator.BasePath+"/tasks", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-API-Key", emulator.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var task emulator.Task
	json.NewDecoder(resp.Body).Decode(&task)
	resp.Body.Close()

	for _, step := range []time.Duration{0, 11 * time.Second, 2 * time.Second, 5 * time.Second} {
		clock.Advance(step)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+emulator.BasePath+"/tasks/"+task.TaskID+"?user_id=test", nil)
		req.Header.Set("X-API-Key", emulator.DefaultAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var st emulator.Task
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		fmt.Printf("%-10s total=%d success=%d failure=%d link=%t\n", st.Status, st.Total, st.Success, st.Failure, st.ResultURL != "")
	}
	fmt.Printf("charged calls: %d\n", sandbox.Stats().Charged)
	// Output:
	// pending    total=0 success=0 failure=0 link=false
	// processing total=3 success=1 failure=0 link=false
	// completed  total=3 success=3 failure=0 link=false
	// exported   total=3 success=3 failure=0 link=true
	// charged calls: 5
}
