package format

import (
	"testing"
)

var htmlTests = []struct {
	name, in, want string
}{
	{"plain", "hello world", "hello world"},
	{"escaping", `a < b && c > d "q"`, `a &lt; b &amp;&amp; c &gt; d "q"`},
	{"entities stay literal", "&lt; &#65;", "&amp;lt; &amp;#65;"},
	{"raw HTML stays literal", "<b>x</b><br>", "&lt;b&gt;x&lt;/b&gt;&lt;br&gt;"},
	{"bold stars", "**bold**", "<b>bold</b>"},
	{"bold underscores", "__bold__", "<b>bold</b>"},
	{"italic star", "*it*", "<i>it</i>"},
	{"italic underscore", "_it_", "<i>it</i>"},
	{"bold italic", "***both***", "<i><b>both</b></i>"},
	{"nested", "**bold *and italic* text**", "<b>bold <i>and italic</i> text</b>"},
	{"bold label with colon", "**Note:** read this", "<b>Note:</b> read this"},
	{"intra-word star", "foo**bar**baz", "foo<b>bar</b>baz"},
	{"snake case", "snake_case_name and __init__.py", "snake_case_name and __init__.py"},
	{"underscore word", "call my_func_ now", "call my_func_ now"},
	{"strike", "~~gone~~", "<s>gone</s>"},
	{"single tilde", "~5 minutes, ~10 tops", "~5 minutes, ~10 tops"},
	{"spoiler", "||secret||", "<tg-spoiler>secret</tg-spoiler>"},
	{"table pipes", "| a | b |\n|---|---|\n| 1 || 2 |", "| a | b |\n|---|---|\n| 1 || 2 |"},
	{"spaced stars", "2 * 3 * 4 = 24", "2 * 3 * 4 = 24"},
	{"unmatched", "**open and *half", "**open and *half"},
	{"unmatched strike", "~~never closed", "~~never closed"},
	{"escaped markers", `\*not\* \_this\_ \~\~ \|\| \` + "`" + ` \\ \[x\](y)`, "*not* _this_ ~~ || ` \\ [x](y)"},
	{"backslash before letter", `C:\path\to`, `C:\path\to`},
	{"inline code", "use `a<b && c` here", "use <code>a&lt;b &amp;&amp; c</code> here"},
	{"code hides markers", "`**not bold** [x](https://x.io)`", "<code>**not bold** [x](https://x.io)</code>"},
	{"double backtick code", "``a ` b``", "<code>a ` b</code>"},
	{"code padding", "`` `x` ``", "<code>`x`</code>"},
	{"unmatched backtick", "a ` b", "a ` b"},
	{"bold code", "**`x`**", "<b><code>x</code></b>"},
	{"fence with language", "```go\nfmt.Println(\"<hi>\")\n```", `<pre><code class="language-go">fmt.Println("&lt;hi&gt;")</code></pre>`},
	{"fence without language", "```\nplain & simple\n```", "<pre>plain &amp; simple</pre>"},
	{"tilde fence", "~~~py\nx = 1\n~~~", `<pre><code class="language-py">x = 1</code></pre>`},
	{"fence keeps markdown", "```\n**x** _y_ # z\n```", "<pre>**x** _y_ # z</pre>"},
	{"fence keeps blank lines", "```\na\n\n\nb\n```", "<pre>a\n\n\nb</pre>"},
	{"longer fence", "````md\n```\ninner\n```\n````", "<pre><code class=\"language-md\">```\ninner\n```</code></pre>"},
	{"unclosed fence", "```sh\necho hi", `<pre><code class="language-sh">echo hi</code></pre>`},
	{"empty fence", "a\n\n```\n```\n\nb", "a\n\nb"},
	{"language cleaned", "```c++ {.numberLines}\nint x;\n```", `<pre><code class="language-c++">int x;</code></pre>`},
	{"language quote", "```\"><script>\nx\n```", `<pre><code class="language-script">x</code></pre>`},
	{"indented fence in list", "1. Run:\n    ```bash\n    make\n      -j4\n    ```", "1. Run:\n<pre><code class=\"language-bash\">make\n  -j4</code></pre>"},
	{"fence then text", "```\ncode\n```\nafter", "<pre>code</pre>\nafter"},
	{"inline triple backticks", "use ```x``` inline", "use <code>x</code> inline"},
	{"link", "[OpenClaw](https://openclaw.ai)", `<a href="https://openclaw.ai">OpenClaw</a>`},
	{"link escaping", `[q](https://x.io/?a=1&b="2")`, `<a href="https://x.io/?a=1&amp;b=&quot;2&quot;">q</a>`},
	{"link with parens", "[wiki](https://en.wikipedia.org/wiki/Go_(game))", `<a href="https://en.wikipedia.org/wiki/Go_(game)">wiki</a>`},
	{"link with title", `[t](https://x.io "Title")`, `<a href="https://x.io">t</a>`},
	{"link in angle brackets", "[t](<https://x.io/a b>)", `<a href="https://x.io/a%20b">t</a>`},
	{"mailto link", "[mail](mailto:a@b.io)", `<a href="mailto:a@b.io">mail</a>`},
	{"tg link", "[me](tg://resolve?domain=openclaw)", `<a href="tg://resolve?domain=openclaw">me</a>`},
	{"javascript link", "[click](javascript:alert(1))", "click"},
	{"relative link", "[file](./README.md)", "file"},
	{"formatted link text", "[**bold** `code`](https://x.io)", `<a href="https://x.io"><b>bold</b> code</a>`},
	{"link in bold", "**see [this](https://x.io)**", `<b>see <a href="https://x.io">this</a></b>`},
	{"empty link text", "[](https://x.io)", "https://x.io"},
	{"not a link", "[x] (y) [z]", "[x] (y) [z]"},
	{"image", "![alt](https://x.io/a.png)", `!<a href="https://x.io/a.png">alt</a>`},
	{"bare URL", "see https://x.io/a_b_c_ and http://y.io/*z*.", "see https://x.io/a_b_c_ and http://y.io/*z*."},
	{"bold bare URL", "**https://x.io/a**", "<b>https://x.io/a</b>"},
	{"URL in parens", "(https://x.io/a_b)", "(https://x.io/a_b)"},
	{"autolink", "<https://x.io>", "https://x.io"},
	{"heading", "# Title", "<b>Title</b>"},
	{"heading levels", "### Three\n###### Six\n####### Seven", "<b>Three</b>\n<b>Six</b>\n####### Seven"},
	{"heading closing marks", "## Sub ##", "<b>Sub</b>"},
	{"heading with bold", "## **Bold** and *it*", "<b>Bold and <i>it</i></b>"},
	{"hashtag", "#hashtag #1", "#hashtag #1"},
	{"empty heading", "#\ntext", "text"},
	{"quote", "> quoted **text**\n> line two", "<blockquote>quoted <b>text</b>\nline two</blockquote>"},
	{"nested quote", "> a\n>> b\n> > c", "<blockquote>a\nb\nc</blockquote>"},
	{"quote then text", "> q\n\nafter", "<blockquote>q</blockquote>\n\nafter"},
	{"quote with code", "> ```\n> x < y\n> ```", "<blockquote>x &lt; y</blockquote>"},
	{"quote with list", "> - a\n> - b", "<blockquote>• a\n• b</blockquote>"},
	{"empty quote", ">\n> ", ""},
	{"bullets", "- one\n* two\n+ three", "• one\n• two\n• three"},
	{"nested bullets", "- a\n  - b\n    - c", "• a\n  • b\n    • c"},
	{"bullet with bold", "- **Key**: value", "• <b>Key</b>: value"},
	{"task list", "- [ ] todo\n- [x] done", "☐ todo\n☑ done"},
	{"numbers", "1. one\n2) two\n10. ten", "1. one\n2) two\n10. ten"},
	{"number with markup", "1. **First** step", "1. <b>First</b> step"},
	{"list after paragraph", "Steps:\n- a\n- b", "Steps:\n• a\n• b"},
	{"rules", "---\n***\n_ _ _\n-----", "———\n———\n———\n———"},
	{"rule between", "above\n\n---\n\nbelow", "above\n\n———\n\nbelow"},
	{"two dashes", "--", "--"},
	{"paragraph lines", "line one\nline two", "line one\nline two"},
	{"bold across lines", "**bold\nstill**", "<b>bold\nstill</b>"},
	{"blank lines collapse", "a\n\n\n\nb", "a\n\nb"},
	{"CRLF", "a\r\n**b**\r\n", "a\n<b>b</b>"},
	{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	{"emoji", "😀 **🚀**", "😀 <b>🚀</b>"},
	{"empty", "", ""},
	{"blank", " \n\t\n", ""},
}

func TestHTML(t *testing.T) {
	for _, tt := range htmlTests {
		t.Run(tt.name, func(t *testing.T) {
			got := HTML(tt.in)
			if got != tt.want {
				t.Errorf("HTML(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if err := checkHTML(got); err != nil {
				t.Errorf("HTML(%q) = %q: %v", tt.in, got, err)
			}
			if n, max := UTF16Len(Visible(got)), UTF16Len(tt.in); n > max {
				t.Errorf("HTML(%q) shows %d units, more than its %d", tt.in, n, max)
			}
		})
	}
}

func TestVisible(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"<b>bold</b> <a href=\"https://x.io/?a&amp;b\">link</a>", "bold link"},
		{"&lt;&gt;&amp;&quot;", `<>&"`},
		{"&#65;&#x42;&#X43;&#128512;", "ABC😀"},
		{"&nbsp; &#xD800; &#; & x", "&nbsp; &#xD800; &#; & x"},
		{"<pre><code class=\"language-go\">x</code></pre>", "x"},
	} {
		if got := Visible(tt.in); got != tt.want {
			t.Errorf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUTF16Len(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},
		{"中文", 2},
		{"😀", 2},
		{"👍🏽", 4},
		{"\xff\xfe", 2},
	} {
		if got := UTF16Len(tt.in); got != tt.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestCheckHTML makes sure the checker the other tests rely on does reject
// what Telegram would.
func TestCheckHTML(t *testing.T) {
	for _, ok := range []string{
		"", "a &lt; b &#60; &#x3C;",
		`<b>x <i>y</i></b>`,
		`<pre><code class="language-go">x</code></pre>`,
		`<a href="https://x.io/?a=1&amp;b">x</a>`,
		`<blockquote><b>q</b> <code>c</code></blockquote>`,
		`<tg-spoiler>s</tg-spoiler><u>u</u><s>s</s>`,
	} {
		if err := checkHTML(ok); err != nil {
			t.Errorf("checkHTML(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{
		"a < b", "a & b", "a > b", "&nbsp;", "&#;", "&#12",
		"<b>x", "x</b>", "<b><i>x</b></i>", "<b></b>",
		"<strong>x</strong>", "<span>x</span>", `<b class="x">x</b>`,
		`<a>x</a>`, `<a href="x"y">x</a>`, `<a href="a&b">x</a>`,
		`<code class="language-go">x</code>`, `<pre><b>x</b></pre>`,
		`<code><b>x</b></code>`, `<b><b>x</b></b>`, `<a href="h"><code>x</code></a>`,
		`<blockquote><pre>x</pre></blockquote>`, "\xff",
	} {
		if checkHTML(bad) == nil {
			t.Errorf("checkHTML(%q) = nil, want an error", bad)
		}
	}
}
