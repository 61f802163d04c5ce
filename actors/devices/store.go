package devices

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Record is one paired device.
type Record struct {
	DeviceID        string   `json:"deviceId"`
	PublicKey       string   `json:"publicKey"`
	Roles           []string `json:"roles"`
	Scopes          []string `json:"scopes"`
	Token           string   `json:"token"`
	TokenIssuedAtMs int64    `json:"tokenIssuedAtMs"`
	ClientID        string   `json:"clientId,omitempty"`
	ClientMode      string   `json:"clientMode,omitempty"`
	DisplayName     string   `json:"displayName,omitempty"`
	Platform        string   `json:"platform,omitempty"`
	DeviceFamily    string   `json:"deviceFamily,omitempty"`
	CreatedAtMs     int64    `json:"createdAtMs"`
	ApprovedAtMs    int64    `json:"approvedAtMs"`
	LastConnectedMs int64    `json:"lastConnectedAtMs,omitempty"`
}

type file struct {
	Version int                `json:"version"`
	Devices map[string]*Record `json:"devices"`
}

// load reads the paired-device file; a missing file is an empty store.
func load(path string) (map[string]*Record, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*Record{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %v (move it aside to start with no paired devices)", path, err)
	}
	if f.Devices == nil {
		f.Devices = map[string]*Record{}
	}
	return f.Devices, nil
}

// save writes the file atomically: a temp file in the same directory, fsync,
// rename, fsync of the directory. A crash leaves the old or the new file,
// never half of one. Tokens are secrets: 0600.
func save(path string, devices map[string]*Record) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(file{Version: 1, Devices: devices}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".paired-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
