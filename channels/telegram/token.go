package telegram

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"openclaw/config"
)

// tokenShape is what @BotFather hands out (and what telego accepts).
var tokenShape = regexp.MustCompile(`^\d+:[\w-]{35}$`)

// EnvToken is the environment variable that gives the default account its
// token when the config does not.
const EnvToken = "TELEGRAM_BOT_TOKEN"

// Token is an account's bot token and where it came from.
type Token struct {
	Value  string
	Source string // "config", "tokenFile", "env" or "none"
}

// ResolveToken finds an account's token: botToken, else tokenFile (a regular
// file; a symlink is refused so that a writable link cannot point the
// gateway at another secret), else TELEGRAM_BOT_TOKEN for the default
// account. No token at all is not an error: the account is not configured.
func ResolveToken(accountID string, a config.TelegramAccount, getenv func(string) string) (Token, error) {
	var t Token
	switch {
	case strings.TrimSpace(a.BotToken) != "":
		t = Token{Value: strings.TrimSpace(a.BotToken), Source: "config"}
	case a.TokenFile != "":
		v, err := readTokenFile(a.TokenFile)
		if err != nil {
			return Token{Source: "tokenFile"}, err
		}
		t = Token{Value: v, Source: "tokenFile"}
	case accountID == config.DefaultAccountID && getenv != nil && strings.TrimSpace(getenv(EnvToken)) != "":
		t = Token{Value: strings.TrimSpace(getenv(EnvToken)), Source: "env"}
	default:
		return Token{Source: "none"}, nil
	}
	if !tokenShape.MatchString(t.Value) {
		return Token{Source: t.Source}, fmt.Errorf("the bot token (from %s) is not a Telegram bot token (expected <digits>:<35 characters>, as @BotFather gives it)", t.Source)
	}
	return t, nil
}

func readTokenFile(path string) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("tokenFile %s does not exist", path)
	}
	if err != nil {
		return "", fmt.Errorf("tokenFile %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("tokenFile %s is a symlink; point tokenFile at the file itself", path)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("tokenFile %s is not a regular file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("tokenFile %s: %w", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("tokenFile %s is empty", path)
	}
	return v, nil
}
