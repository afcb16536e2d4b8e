package server

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist holds the console built by scripts/web.sh (vite build of web/). Only
// its README is committed, so `go build` works before the first npm build
// and then serves placeholderPage.
//
//go:embed all:dist
var dist embed.FS

// consoleHandler serves the embedded console. Unknown paths get index.html
// so the console's own router handles them; hashed assets are cached.
func consoleHandler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("BUG: embedded console missing: " + err.Error())
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		index = []byte(placeholderPage)
	}
	files := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != "" && p != "index.html" {
			if st, err := fs.Stat(sub, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	})
}

const placeholderPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>flowhunt</title></head>
<body><p>The flowhunt console was not built into this binary: run <code>./scripts/web.sh</code> (npm) and rebuild.
The API under /api/v1 works regardless.</p></body></html>`
