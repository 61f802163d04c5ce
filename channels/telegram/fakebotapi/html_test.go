package fakebotapi

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseHTML(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		plain string
		ents  []entity
		err   string // the description after "can't parse entities: "
	}{
		{name: "plain", in: "just text", plain: "just text"},
		{name: "bold and italic", in: "<b>bold</b> and <i>it</i>", plain: "bold and it",
			ents: []entity{{Type: "bold", Offset: 0, Length: 4}, {Type: "italic", Offset: 9, Length: 2}}},
		{name: "synonyms", in: "<strong>a</strong><em>b</em><ins>c</ins><u>d</u><s>e</s><strike>f</strike><del>g</del>",
			plain: "abcdefg", ents: []entity{
				{Type: "bold", Offset: 0, Length: 1}, {Type: "italic", Offset: 1, Length: 1},
				{Type: "underline", Offset: 2, Length: 1}, {Type: "underline", Offset: 3, Length: 1},
				{Type: "strikethrough", Offset: 4, Length: 1}, {Type: "strikethrough", Offset: 5, Length: 1},
				{Type: "strikethrough", Offset: 6, Length: 1}}},
		{name: "nested, outer first", in: "<b>a<i>bc</i></b>", plain: "abc",
			ents: []entity{{Type: "bold", Offset: 0, Length: 3}, {Type: "italic", Offset: 1, Length: 2}}},
		{name: "upper-case tags", in: "<B>x</b>", plain: "x", ents: []entity{{Type: "bold", Offset: 0, Length: 1}}},
		{name: "anonymous end tag", in: "<i>x</>", plain: "x", ents: []entity{{Type: "italic", Offset: 0, Length: 1}}},
		{name: "empty element", in: "<b></b>x", plain: "x"},
		{name: "link with raw ampersand in href", in: `<a href="https://e.com/?a=1&b=2">here</a>`, plain: "here",
			ents: []entity{{Type: "text_link", Offset: 0, Length: 4, URL: "https://e.com/?a=1&b=2"}}},
		{name: "link with escaped href, single quotes", in: `<a href='https://e.com/?q=&lt;&amp;'>x</a>`, plain: "x",
			ents: []entity{{Type: "text_link", Offset: 0, Length: 1, URL: "https://e.com/?q=<&"}}},
		{name: "link without href", in: `<a>https://e.com</a>`, plain: "https://e.com",
			ents: []entity{{Type: "text_link", Offset: 0, Length: 13, URL: "https://e.com"}}},
		{name: "code", in: "<code>x()</code>", plain: "x()", ents: []entity{{Type: "code", Offset: 0, Length: 3}}},
		{name: "code drops its language", in: `<code class="language-go">x</code>`, plain: "x",
			ents: []entity{{Type: "code", Offset: 0, Length: 1}}},
		{name: "pre", in: "<pre>a\nb</pre>", plain: "a\nb", ents: []entity{{Type: "pre", Offset: 0, Length: 3}}},
		{name: "pre with language", in: `<pre><code class="language-go">f()</code></pre>`, plain: "f()",
			ents: []entity{{Type: "pre", Offset: 0, Length: 3, Language: "go"}}},
		{name: "spoiler span", in: `<span class="tg-spoiler">s</span>`, plain: "s",
			ents: []entity{{Type: "spoiler", Offset: 0, Length: 1}}},
		{name: "spoiler tag", in: `<tg-spoiler>s</tg-spoiler>`, plain: "s",
			ents: []entity{{Type: "spoiler", Offset: 0, Length: 1}}},
		{name: "blockquote", in: "<blockquote>q</blockquote>", plain: "q",
			ents: []entity{{Type: "blockquote", Offset: 0, Length: 1}}},
		{name: "expandable blockquote", in: "<blockquote expandable>q</blockquote>", plain: "q",
			ents: []entity{{Type: "expandable_blockquote", Offset: 0, Length: 1}}},
		{name: "custom emoji", in: `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, plain: "👍",
			ents: []entity{{Type: "custom_emoji", Offset: 0, Length: 2, CustomEmojiID: "5368324170671202286"}}},
		{name: "named entities", in: "&lt;b&gt; &amp; &quot;q&quot;", plain: `<b> & "q"`},
		{name: "entity without semicolon", in: "a&lt b", plain: "a< b"},
		{name: "numeric entities", in: "&#65;&#x42;&#128512;", plain: "AB😀"},
		{name: "UTF-16 offsets", in: "😀é<b>x</b>", plain: "😀éx", ents: []entity{{Type: "bold", Offset: 3, Length: 1}}},
		{name: "unknown attribute ignored", in: `<b title="t">x</b>`, plain: "x", ents: []entity{{Type: "bold", Offset: 0, Length: 1}}},

		{name: "bare less-than", in: "a < b", err: `Unsupported start tag "" at byte offset 2`},
		{name: "unknown tag", in: "<div>x</div>", err: `Unsupported start tag "div" at byte offset 0`},
		{name: "br is not a tag", in: "a<br/>b", err: `Unsupported start tag "br/" at byte offset 1`},
		{name: "unclosed element", in: "<b>x", err: `Can't find end tag corresponding to start tag "b"`},
		{name: "stray end tag", in: "x</b>", err: "Unexpected end tag at byte offset 1"},
		{name: "crossed tags", in: "<b><i>x</b></i>", err: `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{name: "end tag case", in: "<b>x</B>", err: `Unmatched end tag at byte offset 4, expected "</b>", found "</B>"`},
		{name: "unclosed start tag", in: "x<b", err: "Unclosed start tag at byte offset 1"},
		{name: "unclosed end tag", in: "<b>x</b", err: "Unclosed end tag at byte offset 4"},
		{name: "bare ampersand", in: "Tom & Jerry", err: `Character "&" at byte offset 4 must be escaped as "&amp;"`},
		{name: "unsupported named entity", in: "a&nbsp;b", err: `Character "&" at byte offset 1 must be escaped as "&amp;"`},
		{name: "NUL numeric entity", in: "&#0;", err: `Character "&" at byte offset 0 must be escaped as "&amp;"`},
		{name: "surrogate numeric entity", in: "&#xD800;", err: "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"},
		{name: "span without class", in: "<span>x</span>", err: `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{name: "span with other class", in: `<span class="red">x</span>`, err: `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{name: "emoji without id", in: "<tg-emoji>x</tg-emoji>", err: `Tag "tg-emoji" must have attribute "emoji-id" at byte offset 0`},
		{name: "attribute without value", in: `<a href="x" rel>y</a>`, err: `Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0`},
		{name: "bad name token", in: `<a href=x"y>z</a>`, err: "Unexpected end of name token at byte offset 8"},
		{name: "empty attribute name", in: `<a ="x">y</a>`, err: `Empty attribute name in the tag "a" at byte offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, ents, err := parseHTML(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("parseHTML(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseHTML(%q): %v", tt.in, err)
			}
			if plain != tt.plain {
				t.Errorf("plain = %q, want %q", plain, tt.plain)
			}
			if !reflect.DeepEqual(ents, tt.ents) {
				t.Errorf("entities = %+v, want %+v", ents, tt.ents)
			}
		})
	}
}

func TestCommandEntity(t *testing.T) {
	tests := []struct {
		text string
		want int // length of the bot_command entity, 0 for none
	}{
		{"/start", 6},
		{"/start@my_bot hello", 13},
		{"/help me", 5},
		{"/ nothing", 0},
		{"hello /start", 0},
		{"/cmd@", 4},
	}
	for _, tt := range tests {
		ents := commandEntity(tt.text)
		got := 0
		if len(ents) == 1 {
			got = ents[0].Length
		}
		if got != tt.want {
			t.Errorf("commandEntity(%q) length = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestMakeToken(t *testing.T) {
	for _, id := range []int64{1, 42, 123456, 9999999999} {
		tok := MakeToken(id)
		if !tokenPattern.MatchString(tok) {
			t.Errorf("MakeToken(%d) = %q, not a well-formed token", id, tok)
		}
		if !strings.HasPrefix(tok, strconv.FormatInt(id, 10)+":") || MakeToken(id) != tok {
			t.Errorf("MakeToken(%d) is not deterministic", id)
		}
	}
	if MakeToken(1) == MakeToken(2) {
		t.Error("MakeToken gives two bots the same token")
	}
}
