package lulufake

import (
	"html/template"
	"net/http"
	"sort"
	"strings"
)

var pageTmpl = template.Must(template.New("jobs").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Local printer: print jobs</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}form{display:inline}</style>
</head><body>
<h1>Local printer: print jobs</h1>
<p>Stands in for Lulu: advance a job along its statuses, ship it with a tracking number, or reject it. Each change sends the signed webhook.</p>
<table><tr><th>job</th><th>order (external id)</th><th>status</th><th>lines</th><th>tracking</th><th></th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.ExternalID}}</td><td>{{.Status.Name}}</td>
<td>{{range .Lines}}{{.Quantity}} × {{.Title}}<br>{{end}}</td>
<td>{{range .Lines}}{{if .TrackingID}}{{.CarrierName}} {{.TrackingID}}<br>{{end}}{{end}}</td>
<td><form method="post" action="/app/print-jobs/{{.ID}}/advance"><button>Advance</button></form>
<form method="post" action="/app/print-jobs/{{.ID}}/ship"><input name="tracking" placeholder="tracking number" size="14"><button>Ship</button></form>
<form method="post" action="/app/print-jobs/{{.ID}}/reject"><input name="message" placeholder="why" size="14"><button>Reject</button></form></td></tr>
{{else}}<tr><td colspan="6">No print jobs yet.</td></tr>{{end}}
</table></body></html>`))

func (s *Server) page(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var jobs []job
	for _, j := range s.jobs {
		c := *j
		c.Lines = nil
		for _, l := range j.Lines {
			lc := *l
			c.Lines = append(c.Lines, &lc)
		}
		jobs = append(jobs, c)
	}
	s.mu.Unlock()
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID > jobs[b].ID })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, jobs)
}

func (s *Server) pageAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var err error
	switch r.PathValue("action") {
	case "advance":
		_, err = s.Advance(id)
	case "ship":
		tracking := strings.TrimSpace(r.FormValue("tracking"))
		if tracking == "" {
			tracking = "9261290100130435082" + id
		}
		err = s.Ship(id, "USPS", tracking, "")
	case "reject":
		msg := strings.TrimSpace(r.FormValue("message"))
		if msg == "" {
			msg = "The interior file could not be printed: fonts are not embedded."
		}
		err = s.Reject(id, msg)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		s.mu.Lock()
		j := s.find(id)
		s.mu.Unlock()
		writeJSON(w, 200, j)
		return
	}
	http.Redirect(w, r, "/app/print-jobs", http.StatusSeeOther)
}
