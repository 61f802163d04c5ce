package main

import (
	"os"
	"path/filepath"
	"strings"
)

// tokenFileName is the file in the state directory that holds the token a
// gateway generated for its run (no token configured), so that client
// commands on the same machine, same user and same profile find it without
// being told. It exists only while that gateway runs: written once the
// gateway holds the state directory's lock and listens, removed when it
// stops. Mode 0600, like the other secrets in the state directory.
const tokenFileName = "gateway.token"

func tokenFilePath(stateDir string) string { return filepath.Join(stateDir, tokenFileName) }

// writeTokenFile stores token atomically (a reader never sees half a token).
func writeTokenFile(stateDir, token string) error {
	path := tokenFilePath(stateDir)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// removeTokenFile removes the token file if it still holds token: a gateway
// that started on the same state directory after this one stopped has its
// own.
func removeTokenFile(stateDir, token string) {
	if readTokenFile(stateDir) == token {
		_ = os.Remove(tokenFilePath(stateDir))
	}
}

// readTokenFile returns the running gateway's generated token, or "".
func readTokenFile(stateDir string) string {
	b, err := os.ReadFile(tokenFilePath(stateDir))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
