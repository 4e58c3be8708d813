// Package browsertest starts headless Chromium for the browser tests (the
// owner's console and the demo shop, driven with chromedp) and saves their
// screenshots for a person to look at.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/readyplanner/oms/internal/testenv"
)

// Chromium starts headless Chromium for a test and answers a tab in it,
// or skips the test with a clear message where Chromium cannot start (make
// setup installs it; under CI, .ci/run makes sure it can, and a missing
// Chromium fails the test instead). Its confirmations are accepted, as a
// person clicking OK. Tabs opened with Tab share its cookies and storage.
func Chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Chromium is not installed, and CI must run the browser tests (.ci/run installs it with make setup)")
		}
		t.Skip("Chromium is not installed (apt-get install chromium, or make setup): the browser tests need it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium does not start (%v), and CI must run the browser tests", err)
		}
		t.Skipf("Chromium does not start here (%v): the browser tests need it", err)
	}
	acceptDialogs(ctx)
	return ctx
}

// Tab opens another tab in the browser of ctx (a context Chromium or Tab
// answered), sharing its cookies and storage.
func Tab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	acceptDialogs(tab)
	return tab
}

func acceptDialogs(ctx context.Context) {
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
}

// Screenshot saves the page as test-output/DIR/NAME-desktop.png and
// NAME-phone.png (390 px wide), for a person to look at.
func Screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	dir, err := testenv.RepoFile(filepath.Join("test-output", dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		tag  string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(v.w, v.h)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+v.tag+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}

// Console collects what the page of ctx writes to its console and every
// exception it does not catch; the returned function answers them, one per
// line, for a failing test's message.
func Console(ctx context.Context) func() string {
	var (
		mu    sync.Mutex
		lines []string
	)
	add := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, s)
	}
	go func() {
		for ev, err := range chromedp.Events(ctx, runtime.ConsoleAPICalled) {
			if err != nil {
				return
			}
			var args []string
			for _, a := range ev.Args {
				if a.Value != nil {
					args = append(args, string(a.Value))
				} else {
					args = append(args, a.Description)
				}
			}
			add("console." + string(ev.Type) + ": " + strings.Join(args, " "))
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, runtime.ExceptionThrown) {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			add("exception: " + text)
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(lines, "\n")
	}
}
