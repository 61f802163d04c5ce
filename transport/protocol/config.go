package protocol

import "encoding/json"

// The config methods: read the config, replace it, patch it.

// ConfigGet is config.get's result: the file, its hash (the baseHash of a
// later write) and the config with secrets redacted (as
// __OPENCLAW_REDACTED__), in the reference's shape. The config has no
// includes, environment substitution or defaults applied by the loader, so
// parsed, sourceConfig, resolved, runtimeConfig and config are the same
// map: the active config. Valid and Issues describe the file as it is on
// disk now (a broken edit is reported here while the last good config
// stays active).
type ConfigGet struct {
	Path          string         `json:"path"`
	IncludedPaths []string       `json:"includedPaths"` // always empty: no includes
	Exists        bool           `json:"exists"`
	Raw           *string        `json:"raw"` // the file's text, secrets redacted; null without a file
	Parsed        map[string]any `json:"parsed"`
	SourceConfig  map[string]any `json:"sourceConfig"`
	Resolved      map[string]any `json:"resolved"`
	Valid         bool           `json:"valid"`
	RuntimeConfig map[string]any `json:"runtimeConfig"`
	Config        map[string]any `json:"config"`
	Hash          string         `json:"hash"`
	Issues        []ConfigIssue  `json:"issues"`
	Warnings      []ConfigIssue  `json:"warnings"`
	LegacyIssues  []ConfigIssue  `json:"legacyIssues"` // always empty
}

// ConfigIssue is a problem with the config file.
type ConfigIssue struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
}

// ConfigSetParams are config.set's params: the whole file as JSON5 text.
// Secrets may be given as __OPENCLAW_REDACTED__ to keep the current ones.
type ConfigSetParams struct {
	Raw      string `json:"raw" minLength:"1"`
	BaseHash string `json:"baseHash,omitempty" minLength:"1"`
}

// ConfigSet is config.set's result.
type ConfigSet struct {
	OK     bool           `json:"ok"`
	Path   string         `json:"path"`
	Hash   string         `json:"hash"`
	Config map[string]any `json:"config"`
	// Restart is true when the change needs an in-process restart;
	// Changed lists the keys that changed.
	Restart bool     `json:"restart"`
	Changed []string `json:"changed"`
}

// ConfigSchema is config.schema's result: the JSON Schema of the whole
// config file (generated from the config types and their doc comments),
// with a hint per key.
type ConfigSchema struct {
	Schema      json.RawMessage       `json:"schema"`
	UIHints     map[string]ConfigHint `json:"uiHints"`
	Version     string                `json:"version"`
	GeneratedAt string                `json:"generatedAt"`
}

// ConfigHint is how a UI labels a config key.
type ConfigHint struct {
	Label    string `json:"label"`
	Help     string `json:"help,omitempty"`
	Advanced bool   `json:"advanced"`
}

// ConfigSchemaLookupParams are config.schema.lookup's params: a dot path
// ("gateway.auth.token"; a map entry is any key, "models.providers.local").
type ConfigSchemaLookupParams struct {
	Path string `json:"path" minLength:"1" maxLength:"1024"`
}

// ConfigSchemaLookup is one key's schema (without its children's), how a
// change to it is applied (hot or restart), and its children.
type ConfigSchemaLookup struct {
	Path       string              `json:"path"`
	Schema     map[string]any      `json:"schema"`
	ReloadKind string              `json:"reloadKind"` // hot | restart
	Hint       *ConfigHint         `json:"hint,omitempty"`
	HintPath   string              `json:"hintPath"`
	Children   []ConfigSchemaChild `json:"children"`
}

// ConfigSchemaChild is one key under a looked-up key.
type ConfigSchemaChild struct {
	Key         string      `json:"key"`
	Path        string      `json:"path"`
	Type        any         `json:"type,omitempty"` // a JSON type name, or a list of them
	Required    bool        `json:"required"`
	HasChildren bool        `json:"hasChildren"`
	ReloadKind  string      `json:"reloadKind"`
	Hint        *ConfigHint `json:"hint,omitempty"`
	HintPath    string      `json:"hintPath"`
}

// ConfigApplyParams are config.apply's params: the whole new config.
type ConfigApplyParams struct {
	Config   map[string]any `json:"config"`
	BaseHash string         `json:"baseHash"`
}

// ConfigPatchParams are config.patch's params: a JSON merge patch.
type ConfigPatchParams struct {
	Patch    map[string]any `json:"patch"`
	BaseHash string         `json:"baseHash"`
}

// ConfigWritten is the result of config.apply and config.patch.
type ConfigWritten struct {
	OK   bool   `json:"ok"`
	Path string `json:"path"`
	Hash string `json:"hash"`
	// Restart is true when the change needs an in-process restart.
	Restart bool     `json:"restart"`
	Changed []string `json:"changed"`
}
