// Package channels will hold the gateway's messaging channels: one supervised
// actor per channel account (Telegram first), each owning its one link to the
// outside service. The gateway core does not depend on it yet; the health
// summary reports an empty channel list until the first channel lands.
package channels
