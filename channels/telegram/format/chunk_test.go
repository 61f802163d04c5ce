package format

import (
	"fmt"
	"strings"
	"testing"
)

var chunkTests = []struct {
	name  string
	in    string
	limit int
	want  []string
}{
	{"fits", "short reply\n", 100, []string{"short reply\n"}},
	{"blank", " \n\n ", 100, nil},
	{
		"paragraphs", "First paragraph is here.\n\nSecond paragraph is here.\n\nThird paragraph is here.", 55,
		[]string{"First paragraph is here.\n\nSecond paragraph is here.", "Third paragraph is here."},
	},
	{
		"long paragraphs", longParagraphs, 120,
		[]string{
			"Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
			"Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
			"Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
			"Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.",
			"Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.",
		},
	},
	{
		"lines", "line one\nline two\nline three\nline four", 20,
		[]string{"line one\nline two", "line three\nline four"},
	},
	{
		"sentences", "One sentence here. Another one follows! And a third? Yes.", 30,
		[]string{"One sentence here.", "Another one follows!", "And a third? Yes."},
	},
	{
		"sentence in bold", "**Done.** Next step is long enough", 25,
		[]string{"**Done.**", "Next step is long enough"},
	},
	{
		"words", "words without any punctuation at all just words", 20,
		[]string{"words without any", "punctuation at all", "just words"},
	},
	{
		"inside a word", "supercalifragilisticexpialidocious", 10,
		[]string{"supercalif", "ragilistic", "expialidoc", "ious"},
	},
	{
		"limit 10", "Hello world, this is a test.", 10,
		[]string{"Hello", "world,", "this is a", "test."},
	},
	{
		"limit 10 list", "- item one\n- item two\n  - nested three", 10,
		[]string{"- item one", "- item two", "  - nested", "three"},
	},
	{
		"emoji at the boundary", "aaaaaaaaa😀b", 10,
		[]string{"aaaaaaaaa", "😀b"},
	},
	{
		"emoji with skin tone", "aaaaaaaa👍🏽b", 10,
		[]string{"aaaaaaaa", "👍🏽b"},
	},
	{
		// Each flag is two regional indicators, four units: 10 units
		// would end in the middle of the third.
		"flags", "🇺🇸🇬🇧🇫🇷", 10,
		[]string{"🇺🇸🇬🇧", "🇫🇷"},
	},
	{
		"CJK without spaces", "这是一个很长的句子。这是另一个句子没有空格", 10,
		[]string{"这是一个很长的句子。", "这是另一个句子没有空", "格"},
	},
	{
		"CJK commas", "日本語のテキスト、句読点があります。もっと", 10,
		[]string{"日本語のテキスト、", "句読点があります。", "もっと"},
	},
	{
		"code block after text", "Intro:\n\n" + longCode + "\nOutro.", 70,
		[]string{
			"Intro:",
			"```python\nprint(0)  # line 0\nprint(1)  # line 1\nprint(2)  # line 2\n```",
			"```python\nprint(3)  # line 3\nprint(4)  # line 4\nprint(5)  # line 5\n```",
			"```python\nprint(6)  # line 6\nprint(7)  # line 7\n```\nOutro.",
		},
	},
	{
		"code keeps indentation", "```go\nfunc f() {\n\tif x {\n\t\treturn\n\t}\n}\n```", 30,
		[]string{"```go\nfunc f() {\n\tif x {\n```", "```go\n\t\treturn\n\t}\n}\n```"},
	},
	{
		"code line too long", "```\n" + strings.Repeat("x", 13) + "\n```", 12,
		[]string{"```\nxxxx\n```", "```\nxxxx\n```", "```\nxxxx\n```", "```\nx\n```"},
	},
	{
		"code blank line", "```\naaa\nbbb\n\nccc\nddd\n```", 20,
		[]string{"```\naaa\nbbb\n```", "```\nccc\nddd\n```"},
	},
	{
		"tilde fence", "~~~\none two three\n~~~", 15,
		[]string{"~~~\none two\n~~~", "~~~\nthree\n~~~"},
	},
	{
		"indented fence", "1. Run\n   ```sh\n   make all\n   make test\n   ```", 30,
		[]string{"1. Run", "   ```sh\n   make all\n   ```", "   ```sh\n   make test\n   ```"},
	},
	{
		"unclosed fence", "```\none\ntwo\nthree", 12,
		[]string{"```\none\n```", "```\ntwo\n```", "```\nthree"},
	},
	{
		// The fence and language take the whole limit: the reopened
		// block goes without its language.
		"no room for the language", "```python\nab\ncd\n```", 10,
		[]string{"```python", "```\nab\n```", "```\ncd\n```"},
	},
	{
		"quote", "> quoted line one\n> quoted line two", 20,
		[]string{"> quoted line one", "> quoted line two"},
	},
	{
		"CRLF", "one two\r\nthree four", 8,
		[]string{"one two", "three", "four"},
	},
	{"limit 1", "ab😀", 1, []string{"a", "b", "😀"}},
}

// longParagraphs is three paragraphs, two of them longer than the limit
// their test uses.
var longParagraphs = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua." +
	"\n\nUt enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat." +
	"\n\nDuis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. " +
	"Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum."

// longCode is a Python block of eight lines.
var longCode = func() string {
	var b strings.Builder
	b.WriteString("```python\n")
	for i := range 8 {
		fmt.Fprintf(&b, "print(%d)  # line %d\n", i, i)
	}
	b.WriteString("```")
	return b.String()
}()

func TestChunk(t *testing.T) {
	for _, tt := range chunkTests {
		t.Run(tt.name, func(t *testing.T) {
			got := Chunk(tt.in, tt.limit)
			if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") || len(got) != len(tt.want) {
				t.Errorf("Chunk(%q, %d)\n got %q\nwant %q", tt.in, tt.limit, got, tt.want)
			}
			if err := checkPieces(tt.in, tt.limit, got); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestChunkDefaultLimit checks that a limit of 0 or less means Telegram's.
func TestChunkDefaultLimit(t *testing.T) {
	in := strings.Repeat("word ", 2000) // 10,000 units
	for _, limit := range []int{0, -1} {
		got := Chunk(in, limit)
		if len(got) != 3 {
			t.Errorf("Chunk(%d words, %d) gave %d pieces, want 3", 2000, limit, len(got))
		}
		if err := checkPieces(in, limit, got); err != nil {
			t.Error(err)
		}
		if n := UTF16Len(got[0]); n < DefaultLimit-5 {
			t.Errorf("first piece is %d units, want close to %d", n, DefaultLimit)
		}
	}
}

// TestChunkCodeRenders checks that every piece of a cut code block renders
// as a code block of its own, in its language.
func TestChunkCodeRenders(t *testing.T) {
	pieces := Chunk(longCode, 40)
	if len(pieces) < 2 {
		t.Fatalf("Chunk gave %d pieces, want several", len(pieces))
	}
	for _, p := range pieces {
		h := HTML(p)
		if !strings.HasPrefix(h, `<pre><code class="language-python">print(`) || !strings.HasSuffix(h, "</code></pre>") {
			t.Errorf("HTML(%q) = %q, want a python block", p, h)
		}
	}
}
