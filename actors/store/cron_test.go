package store

import (
	"testing"
)

// A slot is claimed once: a second claim of the same job and slot fails,
// durably (across a reopen), and a run cut off is closed as an error.
func TestCronSlots(t *testing.T) { eachImpl(t, testCronSlots) }

func testCronSlots(t *testing.T, im impl) {
	s := im.open(t)
	if err := s.PutCronJob(bg, "j1", []byte(`{"id":"j1"}`)); err != nil {
		t.Fatal(err)
	}
	claim := func(s Store, slot int64, run string) bool {
		t.Helper()
		ok, err := s.ClaimCronSlot(bg, CronRun{JobID: "j1", SlotMs: slot, RunID: run, Trigger: "schedule"})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(s, 1000, "r1") || claim(s, 1000, "r1-again") || !claim(s, 2000, "r2") {
		t.Fatal("claims of slots 1000, 1000, 2000 should be true, false, true")
	}
	if err := s.FinishCronRun(bg, CronRun{JobID: "j1", SlotMs: 1000, Status: "ok", Summary: "done", Usage: []byte(`{"input":1}`)}); err != nil {
		t.Fatal(err)
	}
	s = im.reopen(t, s)
	if claim(s, 2000, "r2-after-crash") {
		t.Fatal("a slot claimed before the crash was claimed again")
	}
	if n, err := s.CloseInterruptedCronRuns(bg, "cut off"); err != nil || n != 1 {
		t.Fatalf("closed %d interrupted runs, %v", n, err)
	}
	runs, total, err := s.CronRuns(bg, CronRunQuery{JobIDs: []string{"j1"}, Ascending: true})
	if err != nil || total != 2 || runs[0].Status != "ok" || runs[0].Summary != "done" || runs[1].Status != "error" || runs[1].Error != "cut off" {
		t.Fatalf("runs = %+v (total %d, %v)", runs, total, err)
	}
	states, err := s.CronRunStates(bg)
	if err != nil || states["j1"].LastSlotMs != 2000 || states["j1"].Last.RunID != "r2" || states["j1"].ConsecutiveErrors != 1 {
		t.Fatalf("states = %+v, %v", states, err)
	}
	if jobs, _ := s.CronJobs(bg); len(jobs) != 1 || string(jobs[0].Job) != `{"id":"j1"}` {
		t.Fatalf("jobs = %+v", jobs)
	}
	if deleted, err := s.DeleteCronJob(bg, "j1"); err != nil || !deleted {
		t.Fatal(deleted, err)
	}
	if _, total, _ := s.CronRuns(bg, CronRunQuery{}); total != 0 {
		t.Fatalf("runs of a deleted job remain: %d", total)
	}
}
