// Command protocolgen writes the JSON Schemas of the wire contract from the
// Go types (go tool task protocol:gen): every method's params as the
// registry declares them, connect's params and the request frame; and the
// JSON Schema of the config file (config/schema.json). Run it
// from the module root after changing a params type; the registry's tests
// fail until the committed schemas match the types.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"openclaw/actors/methods"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "protocolgen:", err)
		os.Exit(1)
	}
}

func run() error {
	schemas, err := methods.Schemas()
	if err != nil {
		return err
	}
	dir := filepath.FromSlash(methods.SchemaDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Files no type describes any more go: the validator must not accept
	// params for a method nobody serves.
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range old {
		if _, keep := schemas[filepath.Base(f)]; !keep {
			if err := os.Remove(f); err != nil {
				return err
			}
			fmt.Println("removed", f)
		}
	}
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), schemas[n], 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %d schemas to %s: %s\n", len(names), dir, strings.Join(names, " "))

	cs, err := configSchema("config")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.FromSlash(ConfigSchemaFile), cs, 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", ConfigSchemaFile)
	return nil
}
