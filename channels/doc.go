// Package channels is the channels part of the actor tree (DESIGN.md): the
// channels actor is the parent of one supervised actor per channel account
// (Telegram: channels/telegram), each owning its one link to the outside
// service. It starts them from the config, restarts only what a hot reload
// changed, restarts a failed account with backoff without touching the
// others, routes send and the pairing RPCs to the right account, and
// publishes the accounts' status into the health summary.
package channels
