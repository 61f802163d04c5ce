package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"

	"openclaw/config"
	"openclaw/transport/protocol"
)

// ConfigSchemaFile is where the config's JSON Schema is written (embedded by
// the config package, served by config.schema).
const ConfigSchemaFile = "config/schema.json"

// configSchema generates the JSON Schema of config.Config from its types,
// with each field's doc comment (read from the package's sources in dir) as
// its description and its type and field names as its title.
func configSchema(dir string) ([]byte, error) {
	docs, err := fieldDocs(dir)
	if err != nil {
		return nil, err
	}
	return protocol.GenerateSchemaWith("", reflect.TypeOf(config.Config{}), protocol.SchemaOptions{
		Draft: "http://json-schema.org/draft-07/schema#",
		Title: "OpenClaw Config",
		Describe: func(owner reflect.Type, f reflect.StructField) (string, string) {
			return humanize(owner.Name()) + " " + humanize(f.Name), docs[owner.Name()+"."+f.Name]
		},
	})
}

// fieldDocs reads the doc comment of every struct field in the package at
// dir: "Type.Field" → the comment as one paragraph of text.
func fieldDocs(dir string) (map[string]string, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if field.Doc == nil {
					continue
				}
				text := strings.Join(strings.Fields(field.Doc.Text()), " ")
				for _, n := range field.Names {
					out[ts.Name.Name+"."+n.Name] = text
				}
			}
			return true
		})
	}
	return out, nil
}

// humanize splits a Go name into words: BotToken → "Bot Token", TTLMs →
// "TTL Ms".
func humanize(name string) string {
	var words []string
	r := []rune(name)
	start := 0
	for i := 1; i < len(r); i++ {
		lowerBefore := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
		acronymEnd := i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsUpper(r[i]) && unicode.IsLower(r[i+1])
		if unicode.IsUpper(r[i]) && (lowerBefore || acronymEnd) {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	words = append(words, string(r[start:]))
	return strings.Join(words, " ")
}
