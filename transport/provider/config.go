package provider

import (
	"errors"
	"os"
	"strings"

	"openclaw/config"
)

// DefaultOpenAIModel is the model of the provider OPENAI_API_KEY gives when
// the config names none.
const DefaultOpenAIModel = "gpt-4o-mini"

// ErrNotConfigured is FromConfig's error when no provider serves the model.
var ErrNotConfigured = errors.New("no model provider configured: set models.providers.<id> and agents.defaults.model.primary (\"<id>/<model>\"), or OPENAI_API_KEY")

// FromConfig is the provider and model a model reference names
// ("<provider>/<model id>" of models.providers; "" is the config's default
// agent model). With no provider configured, OPENAI_API_KEY (and
// OPENAI_BASE_URL) give a provider "openai".
func FromConfig(c *config.Config, ref string) (p Provider, providerID, model string, err error) {
	if c == nil {
		c = &config.Config{}
	}
	providerID, model, _ = strings.Cut(ref, "/")
	if pc, ok := c.Models.Providers[providerID]; ok && ref != "" {
		return NewOpenAICompatible(Config{ID: providerID, BaseURL: pc.BaseURL, APIKey: pc.APIKey}), providerID, model, nil
	}
	if len(c.Models.Providers) == 0 {
		if key := os.Getenv("OPENAI_API_KEY"); key != "" {
			base := os.Getenv("OPENAI_BASE_URL")
			if base == "" {
				base = "https://api.openai.com/v1"
			}
			if providerID != "openai" || model == "" {
				model = ref
				if model == "" {
					model = DefaultOpenAIModel
				}
			}
			return NewOpenAICompatible(Config{ID: "openai", BaseURL: base, APIKey: key}), "openai", model, nil
		}
	}
	if ref != "" {
		return nil, "", "", errors.New(ref + " names models.providers." + providerID + ", which is not configured")
	}
	return nil, "", "", ErrNotConfigured
}
