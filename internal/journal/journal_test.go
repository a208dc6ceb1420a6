package journal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/livekit-mock/livekit-mock/internal/journal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fixedClock() func() time.Time {
	t := time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	return func() time.Time { return t }
}

func TestRingDropsOldestAndSeqSurvivesClear(t *testing.T) {
	j := journal.New(journal.Options{Size: 3, Now: fixedClock()})
	for i := range 5 {
		j.Record(journal.TypeDataSent, "r", fmt.Sprint("p", i), nil)
	}
	got := j.Query(journal.Filter{}, 0)
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 || got[0].Identity != "p2" {
		t.Fatalf("ring after 5 appends to 3 slots: %+v", got)
	}
	j.Clear()
	if n := j.Len(); n != 0 {
		t.Fatalf("Len after Clear = %d", n)
	}
	e := j.Append(journal.TypeReset, "", "", nil)
	if e.Seq != 6 {
		t.Fatalf("seq after Clear = %d, want 6 (never restarts)", e.Seq)
	}
}

func TestQueryFilters(t *testing.T) {
	j := journal.New(journal.Options{Size: 100})
	j.Record(journal.TypeParticipantJoined, "a", "alice", nil)
	j.Record(journal.TypeParticipantJoined, "b", "bob", nil)
	j.Record(journal.TypeParticipantLeft, "a", "alice", nil)
	j.Record(journal.TypeTokenMinted, "a", "carol", nil)
	tests := []struct {
		name  string
		f     journal.Filter
		limit int
		want  []uint64
	}{
		{"all", journal.Filter{}, 0, []uint64{1, 2, 3, 4}},
		{"room", journal.Filter{Room: "a"}, 0, []uint64{1, 3, 4}},
		{"identity", journal.Filter{Identity: "alice"}, 0, []uint64{1, 3}},
		{"types", journal.Filter{Types: []string{journal.TypeParticipantLeft, journal.TypeTokenMinted}}, 0, []uint64{3, 4}},
		{"since", journal.Filter{Since: 2}, 0, []uint64{3, 4}},
		{"limit", journal.Filter{}, 2, []uint64{1, 2}},
		{"none", journal.Filter{Room: "zzz"}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seqs []uint64
			for _, e := range j.Query(tc.f, tc.limit) {
				seqs = append(seqs, e.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", seqs, tc.want)
			}
		})
	}
}

func TestConcurrentWritersGetOneOrder(t *testing.T) {
	j := journal.New(journal.Options{Size: 10000})
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				j.Record(journal.TypeDataSent, "r", fmt.Sprint("w", w), map[string]any{"i": i})
			}
		})
	}
	wg.Wait()
	all := j.Query(journal.Filter{}, 0)
	if len(all) != writers*each {
		t.Fatalf("%d entries, want %d", len(all), writers*each)
	}
	last := map[string]int{}
	for k, e := range all {
		if e.Seq != uint64(k+1) {
			t.Fatalf("entry %d has seq %d", k, e.Seq)
		}
		i := e.Detail["i"].(int)
		if prev, ok := last[e.Identity]; ok && i != prev+1 {
			t.Fatalf("writer %s out of order: %d after %d", e.Identity, i, prev)
		}
		last[e.Identity] = i
	}
}

func TestWait(t *testing.T) {
	j := journal.New(journal.Options{})
	j.Record(journal.TypeParticipantJoined, "r", "old", nil)

	t.Run("already held", func(t *testing.T) {
		e, err := j.Wait(context.Background(), journal.Filter{Identity: "old"})
		if err != nil || e.Identity != "old" {
			t.Fatalf("Wait = %+v, %v", e, err)
		}
	})
	t.Run("arrives later", func(t *testing.T) {
		got := make(chan journal.Entry, 1)
		ready := make(chan struct{})
		go func() {
			close(ready)
			e, _ := j.Wait(context.Background(), journal.Filter{Types: []string{journal.TypeParticipantLeft}, Room: "r"})
			got <- e
		}()
		<-ready
		j.Record(journal.TypeParticipantLeft, "other", "x", nil)
		j.Record(journal.TypeParticipantLeft, "r", "new", nil)
		select {
		case e := <-got:
			if e.Identity != "new" {
				t.Fatalf("woke on %+v", e)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Wait did not wake")
		}
	})
	t.Run("times out", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := j.Wait(ctx, journal.Filter{Identity: "nobody"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		j2 := journal.New(journal.Options{})
		errc := make(chan error, 1)
		go func() {
			_, err := j2.Wait(context.Background(), journal.Filter{Identity: "nobody"})
			errc <- err
		}()
		j2.Close()
		if err := <-errc; !errors.Is(err, journal.ErrClosed) {
			t.Fatalf("err = %v", err)
		}
		j2.Record(journal.TypeReset, "", "", nil) // no panic after Close
	})
}

func TestFollower(t *testing.T) {
	j := journal.New(journal.Options{Size: 4})
	j.Record(journal.TypeRoomStarted, "a", "", nil)
	fl := j.Follow(journal.Filter{Room: "a"})
	got, err := fl.Next(context.Background(), 0)
	if err != nil || len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("first Next = %+v, %v", got, err)
	}
	j.Record(journal.TypeRoomStarted, "b", "", nil)
	got, wake := fl.Poll(0)
	if len(got) != 0 {
		t.Fatalf("Poll saw another room: %+v", got)
	}
	j.Record(journal.TypeRoomFinished, "a", "", nil)
	<-wake
	got, err = fl.Next(context.Background(), 0)
	if err != nil || len(got) != 1 || got[0].Seq != 3 {
		t.Fatalf("second Next = %+v, %v", got, err)
	}
}

func TestEntryJSON(t *testing.T) {
	j := journal.New(journal.Options{Now: fixedClock()})
	e := j.Append(journal.TypeTokenMinted, "r", "alice", map[string]any{"route": "/token/join"})
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":1,"time":"2025-01-02T03:04:05.006Z","type":"token_minted","room":"r","identity":"alice","detail":{"route":"/token/join"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back journal.Entry
	if err := json.Unmarshal(b, &back); err != nil || back.Seq != 1 || back.Identity != "alice" {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
