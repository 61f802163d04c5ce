package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kong"
)

// CompletionCmd prints a shell completion script. The scripts are small
// shims: the shell hands the words typed so far to `openclaw __complete`,
// which answers from the command tree itself, so completion never lags
// behind the commands and flags that exist.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

func (c *CompletionCmd) Run() error {
	_, err := fmt.Fprint(os.Stdout, completionScripts[c.Shell])
	return err
}

// completeCommand is the hidden command the completion scripts call: its
// arguments are the words after "openclaw", the last one being the word
// under the cursor ("" for a new word). It prints one candidate per line.
const completeCommand = "__complete"

var completionScripts = map[string]string{
	"bash": `# openclaw bash completion: source <(openclaw completion bash)
_openclaw() {
	local IFS=$'\n'
	COMPREPLY=($(openclaw __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _openclaw openclaw
`,
	"zsh": `#compdef openclaw
# openclaw zsh completion: source <(openclaw completion zsh)
_openclaw() {
	local -a candidates
	candidates=("${(@f)$(openclaw __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
	compadd -a candidates
}
if (( $+functions[compdef] )); then compdef _openclaw openclaw; fi
`,
	"fish": `# openclaw fish completion: openclaw completion fish | source
complete -c openclaw -f -a '(openclaw __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`,
}

// complete prints the candidates for the last of words.
func complete(w io.Writer, words []string) int {
	var cli CLI
	k, err := newParser(&cli, io.Discard, io.Discard)
	if err != nil {
		return exitFailure
	}
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	node := k.Model.Node
	var valueOf *kong.Flag // the previous word is a flag that takes a value
	for _, word := range words[:len(words)-1] {
		switch {
		case valueOf != nil:
			valueOf = nil
		case strings.HasPrefix(word, "-"):
			if f := findFlag(node, word); f != nil && !f.IsBool() && !strings.Contains(word, "=") {
				valueOf = f
			}
		default:
			if c := childCommand(node, word); c != nil {
				node = c
			}
		}
	}
	var cands []string
	switch {
	case valueOf != nil:
		if valueOf.Enum != "" {
			cands = valueOf.EnumSlice()
		}
	case strings.HasPrefix(cur, "-"):
		cands = append(flagNames(node, true), "--help")
		if d := node.DefaultCmd; d != nil && d.Tag.Default == "withargs" {
			cands = append(cands, flagNames(d, false)...)
		}
	default:
		cands = commandNames(node)
		for _, p := range node.Positional {
			if p.Enum != "" {
				cands = append(cands, p.EnumSlice()...)
			}
		}
	}
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			fmt.Fprintln(w, c)
		}
	}
	return 0
}

// findFlag finds a flag of n (or inherited, or of n's default command) as
// typed: --name, --name=value or -s.
func findFlag(n *kong.Node, word string) *kong.Flag {
	name, _, _ := strings.Cut(word, "=")
	groups := n.AllFlags(false)
	if d := n.DefaultCmd; d != nil {
		groups = append(groups, d.Flags)
	}
	for _, g := range groups {
		for _, f := range g {
			if name == "--"+f.Name || (f.Short != 0 && name == "-"+string(f.Short)) {
				return f
			}
		}
	}
	return nil
}

// childCommand is n's subcommand named (or aliased) name.
func childCommand(n *kong.Node, name string) *kong.Node {
	for _, c := range n.Children {
		if c.Type != kong.CommandNode {
			continue
		}
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}
