//go:build !linux

package main

import "errors"

func evictFromPageCache(string) error {
	return errors.New("evicting a file from the page cache needs Linux")
}
