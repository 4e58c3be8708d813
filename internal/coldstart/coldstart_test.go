package coldstart

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/emulator"
)

func TestMemoryOfThisProcess(t *testing.T) {
	m, err := MemoryOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS || m.Anon <= 0 || m.File <= 0 || m.Anon+m.File > m.RSS {
		t.Errorf("memory of this process: %+v", m)
	}
}

func TestMemoryOfNoProcess(t *testing.T) {
	if _, err := MemoryOf(-1); err == nil {
		t.Error("no error for pid -1")
	}
}

func TestSpreadOf(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want Spread
	}{
		{[]float64{3}, Spread{3, 3, 3}},
		{[]float64{5, 1, 3}, Spread{1, 3, 5}},
		{[]float64{4, 1, 2, 3}, Spread{1, 2.5, 4}},
	} {
		if got := SpreadOf(c.in); got != c.want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

// serverEnv makes this test binary a stand-in function when set (see
// init): "<port> <delay in ns> <status>" — it listens after delay and answers
// status to a POST with a Bearer token.
const serverEnv = "COLDSTART_TEST_SERVER"

func init() {
	spec := os.Getenv(serverEnv)
	if spec == "" {
		return
	}
	var port, status int
	var delay time.Duration
	if _, err := fmt.Sscan(spec, &port, &delay, &status); err != nil {
		panic(err)
	}
	time.Sleep(delay)
	if status == 0 {
		os.Exit(3) // dies before it listens
	}
	err := http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", port), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer token-1" {
			http.Error(w, "want a POST with the token", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"result":{}}`)
	}))
	panic(err)
}

func standIn(t *testing.T, delay time.Duration, status int) (*exec.Cmd, Call) {
	t.Helper()
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %d", serverEnv, port, delay, status))
	return cmd, Call{URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Body: []byte(`{"data":{}}`), IDToken: "token-1"}
}

func TestMeasureWaitsForTheFirstAnswer(t *testing.T) {
	cmd, call := standIn(t, 300*time.Millisecond, http.StatusOK)
	s, err := Measure(context.Background(), cmd, call)
	if err != nil {
		t.Fatal(err)
	}
	if s.FirstAnswer < 300*time.Millisecond || s.FirstAnswer > 20*time.Second {
		t.Errorf("first answer after %v, want at least the stand-in's 300 ms", s.FirstAnswer)
	}
	if string(s.Answer) != `{"result":{}}` || s.RSS <= 0 || s.Anon <= 0 {
		t.Errorf("sample %+v (answer %s)", s.Memory, s.Answer)
	}
	if cmd.ProcessState == nil {
		t.Error("the process was not waited for")
	}
}

func TestMeasureRefusesAFailedAnswer(t *testing.T) {
	cmd, call := standIn(t, 0, http.StatusInternalServerError)
	if _, err := Measure(context.Background(), cmd, call); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("error %v, want one naming the 500", err)
	}
}

func TestMeasureNoticesAnExit(t *testing.T) {
	cmd, call := standIn(t, 0, 0)
	if _, err := Measure(context.Background(), cmd, call); err == nil || !strings.Contains(err.Error(), "exited before answering") {
		t.Errorf("error %v, want the exit", err)
	}
}
