package connector

// numberIndex finds a number's index in a plan's Numbers: an open-addressing
// hash table of 4-byte indices, the numbers themselves staying in Numbers.
// Written here because a Go map of Number to index costs 20 to 40 bytes an
// entry, three times the number itself, and the dedupe map was most of a
// large plan's memory (docs/scaling.md); no well-kept library offers a set
// over an existing slice.
type numberIndex struct {
	slots []uint32 // index+1 into the numbers; 0 is empty
	n     int      // entries
}

// hashNumber spreads a number's bits (the finaliser of MurmurHash3): the
// numbers of one country share their high digits.
func hashNumber(n Number) uint64 {
	h := uint64(n)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// find returns the index of n in numbers, or -1.
func (x *numberIndex) find(numbers Numbers, n Number) int {
	if len(x.slots) == 0 {
		return -1
	}
	mask := uint64(len(x.slots) - 1)
	for i := hashNumber(n) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return -1
		}
		if numbers[s-1] == n {
			return int(s - 1)
		}
	}
}

// add records that numbers[at] is in the set; it must not be already.
func (x *numberIndex) add(numbers Numbers, at int) {
	if 4*(x.n+1) > 3*len(x.slots) { // keep the load under 3/4
		x.grow(numbers)
	}
	x.put(numbers[at], uint32(at)+1)
	x.n++
}

func (x *numberIndex) put(n Number, slot uint32) {
	mask := uint64(len(x.slots) - 1)
	i := hashNumber(n) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot
}

func (x *numberIndex) grow(numbers Numbers) {
	old := x.slots
	x.slots = make([]uint32, max(1024, 2*len(old)))
	for _, s := range old {
		if s != 0 {
			x.put(numbers[s-1], s)
		}
	}
}
