package protocol

// The config methods: read the config, replace it, patch it.

// ConfigGet is config.get's result: the file, its hash (the baseHash of a
// later write) and the config with secrets redacted.
type ConfigGet struct {
	Path   string         `json:"path"`
	Hash   string         `json:"hash"`
	Config map[string]any `json:"config"`
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
