package logs

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Record keys of the log file. They are the ones the reference CLI reads
// (`openclaw logs` parses each line's time, level, subsystem and message),
// so its --plain and --json output shows our records as it shows its own.
const (
	// MessageKey holds the whole line as a person reads it: the record's
	// message followed by its attributes as key=value.
	MessageKey = "message"
	// SubsystemKey names the part of the gateway that wrote the record.
	SubsystemKey = "subsystem"
)

// NewFileHandler is the JSON-lines handler of the log file: slog's JSON
// records with "message" (the message and its attributes, readable on its
// own) in place of "msg"; the attributes are kept as fields too.
func NewFileHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return &fileHandler{h: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.MessageKey {
			a.Key = MessageKey
		}
		return a
	}})}
}

// fileHandler writes through a JSON handler, folding the attributes into
// the message text.
type fileHandler struct {
	h      slog.Handler
	attrs  []slog.Attr // from WithAttrs, outside any group
	prefix string      // the group path of later attributes ("" at top level)
}

func (f *fileHandler) Enabled(ctx context.Context, l slog.Level) bool { return f.h.Enabled(ctx, l) }

func (f *fileHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(prefix string, a slog.Attr) {
		if a.Key == SubsystemKey && prefix == "" {
			return // shown as the record's label, not in its text
		}
		appendAttr(&b, prefix, a)
	}
	for _, a := range f.attrs {
		write("", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		write(f.prefix, a)
		return true
	})
	out := slog.NewRecord(r.Time, r.Level, b.String(), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return f.h.Handle(ctx, out)
}

func (f *fileHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &fileHandler{h: f.h.WithAttrs(as), attrs: f.attrs, prefix: f.prefix}
	if f.prefix == "" {
		n.attrs = append(append([]slog.Attr(nil), f.attrs...), as...)
	} else {
		n.attrs = append([]slog.Attr(nil), f.attrs...)
		for _, a := range as {
			n.attrs = append(n.attrs, slog.Attr{Key: f.prefix + a.Key, Value: a.Value})
		}
	}
	return n
}

func (f *fileHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return f
	}
	return &fileHandler{h: f.h.WithGroup(name), attrs: f.attrs, prefix: f.prefix + name + "."}
}

// appendAttr writes " key=value" (groups flattened to a.b=value), quoting
// values that would not read as one word.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			appendAttr(b, p, g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \t\n\"=") {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}
