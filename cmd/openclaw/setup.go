package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"openclaw/config"
	"openclaw/transport/auth"
)

// SetupCmd creates the profile's config file (with a generated token, as the
// reference's wizard does) and its workspace. It never overwrites a config.
type SetupCmd struct{}

func (SetupCmd) Run(g *Globals) error {
	prof, paths, err := g.paths()
	if err != nil {
		return err
	}
	workspace := filepath.Join(paths.StateDir, "workspace")
	for _, d := range []string{paths.StateDir, filepath.Join(workspace, "canvas")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fail(exitFailure, "%v", err)
		}
	}
	if _, err := os.Stat(paths.ConfigPath); err == nil {
		fmt.Printf("Config already exists: %s (left as it is)\n", paths.ConfigPath)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fail(exitFailure, "%v", err)
	}
	port := config.DefaultPort
	if prof.Dev {
		port = config.DefaultDevPort
	}
	token := auth.GenerateToken()
	body := fmt.Sprintf(`// OpenClaw gateway configuration (JSON5: comments and trailing commas are fine).
// %s
{
  gateway: {
    mode: "local",
    port: %d,
    bind: "loopback",
    auth: { mode: "token", token: %q },
    reload: { mode: "hybrid" },
  },
  agents: { defaults: { workspace: %q } },
}
`, configDocs, port, token, workspace)
	// Check what we write with the parser that will read it.
	if _, err := config.Parse(paths.ConfigPath, []byte(body)); err != nil {
		return fail(exitFailure, "internal error: setup wrote an invalid config: %v", err)
	}
	if err := config.WriteAtomic(paths.ConfigPath, []byte(body)); err != nil {
		return fail(exitFailure, "%v", err)
	}
	fmt.Printf("Wrote %s\nWorkspace: %s\nGateway token: %s\nStart the gateway with: openclaw%s gateway\n",
		paths.ConfigPath, workspace, token, profileFlag(prof))
	return nil
}

// configDocs is where the config file that setup writes sends its reader:
// the file that documents every key (the README's "The config file" points
// there too).
const configDocs = "Every key, with its default, is documented in config/config.go of openclaw-go."

func profileFlag(p config.Profile) string {
	switch {
	case p.Dev:
		return " --dev"
	case p.Name != "":
		return " --profile " + p.Name
	}
	return ""
}
