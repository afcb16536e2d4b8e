package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the token file in the data directory.
const TokenFile = "serve.token"

const cookieName = "flowhunt_token"

// LoadOrCreateToken returns the token stored in dir, creating it (32 random
// bytes, hex, file mode 0600) when absent. created tells the caller to print
// it: it is shown once, on first start.
func LoadOrCreateToken(dir string) (token string, created bool, err error) {
	path := filepath.Join(dir, TokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return "", false, fmt.Errorf("cannot use token file %s: token shorter than 16 characters (delete the file to create a new one)", path)
		}
		return tok, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("cannot read token file: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("cannot create data directory %s: %w", dir, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, fmt.Errorf("cannot generate token: %w", err)
	}
	tok := hex.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race: use its token
			return LoadOrCreateToken(dir)
		}
		return "", false, fmt.Errorf("cannot create token file: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", false, fmt.Errorf("cannot write token file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("cannot write token file %s: %w", path, err)
	}
	return tok, true, nil
}

// authorized reports whether r carries the token: "Authorization: Bearer",
// the console's cookie, or X-Flowhunt-Token.
func (s *Server) authorized(r *http.Request) bool {
	if s.token == "" {
		return true
	}
	var got string
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		got = strings.TrimSpace(h[len("Bearer "):])
	} else if h := r.Header.Get("X-Flowhunt-Token"); h != "" {
		got = h
	} else if c, err := r.Cookie(cookieName); err == nil {
		got = c.Value
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
}

// requireAPI refuses API calls without the token (401) and, for requests
// that change state, anything but JSON (so a cross-site form cannot post
// with the console's cookie).
func (s *Server) requireAPI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flowhunt"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong token: send Authorization: Bearer <token> (printed by flowhunt serve on first start, stored in "+TokenFile+" in the data directory)"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			ct := r.Header.Get("Content-Type")
			if !strings.HasPrefix(ct, "application/json") {
				writeError(w, http.StatusUnsupportedMediaType, errors.New("cannot accept request body: Content-Type must be application/json"))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// requireConsole sends people without the token to the login page. A link
// with ?token=… logs in once and drops the token from the address bar.
func (s *Server) requireConsole(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("token"); tok != "" && s.token != "" {
			if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1 {
				s.setCookie(w)
				u := *r.URL
				q := u.Query()
				q.Del("token")
				u.RawQuery = q.Encode()
				http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
				return
			}
		}
		if !s.authorized(r) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, loginPage)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) setCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// handleLogin checks the token posted by the login form.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot read login form", http.StatusBadRequest)
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if s.token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, strings.Replace(loginPage, "<!--msg-->", `<p class="err">Wrong token.</p>`, 1))
		return
	}
	s.setCookie(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

const loginPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>flowhunt — sign in</title>
<style>body{font:15px system-ui,sans-serif;background:#0f1720;color:#e6edf3;display:grid;place-items:center;height:100vh;margin:0}
form{background:#17212b;padding:2em;border-radius:8px;min-width:22em}input{width:100%;padding:.5em;margin:.6em 0;box-sizing:border-box}
button{padding:.5em 1.2em}.err{color:#f87171}code{color:#93c5fd}</style></head>
<body><form method="post" action="/login"><h2>flowhunt</h2><!--msg-->
<p>Paste the token <code>flowhunt serve</code> printed on first start<br>(also in <code>` + TokenFile + `</code> in the data directory).</p>
<input type="password" name="token" autofocus autocomplete="off"><button type="submit">Sign in</button></form></body></html>`
