package local_test

import "os"

func loadWanted() bool { return os.Getenv("FLOWHUNT_LOAD") != "" }

// inCI reports whether tests that need a real browser must run (CI=true).
func inCI() bool { return os.Getenv("CI") == "true" }
