package methods

import (
	"fmt"
	"reflect"

	"openclaw/actors/core"
	"openclaw/transport/protocol"
)

// SchemaDir is where the generated schemas are committed, from the module
// root; the validator embeds them.
const SchemaDir = "transport/protocol/schemas"

// Schemas generates the JSON Schema of every method's params, of connect's
// params and of the request frame, by file name (go tool task
// protocol:gen writes them to SchemaDir; a test fails when the committed
// files differ).
func Schemas() (map[string][]byte, error) {
	out := map[string][]byte{}
	add := func(file, id string, t reflect.Type) error {
		b, err := protocol.GenerateSchema(id, t)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		out[file] = b
		return nil
	}
	if err := add("frame.request.json", "openclaw:frame/request", reflect.TypeOf(protocol.RequestFrame{})); err != nil {
		return nil, err
	}
	if err := add("connect.json", "openclaw:params/connect", reflect.TypeOf(protocol.ConnectParams{})); err != nil {
		return nil, err
	}
	var err error
	Registry.Each(func(m *core.Method) {
		if err == nil {
			err = add(m.Name+".json", "openclaw:params/"+m.Name, m.Params)
		}
	})
	return out, err
}
