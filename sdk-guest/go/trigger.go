package ferry

import "fmt"

// TriggerSync asks the host to run the sync named name (a sync of the same integration, as
// ferry.yaml names it) for this connection soon. An action that wrote to the provider calls
// it so the cache catches up with what the write changed there. The sync runs after this
// call returns, never inside it; a trigger while a run of that sync is under way queues one
// follow-up run.
func (h *Host) TriggerSync(name string) error {
	if name == "" {
		return fmt.Errorf("ferry: trigger sync: empty sync name")
	}
	if _, err := h.call(fnTriggerSync, []byte(name)); err != nil {
		return fmt.Errorf("ferry: trigger sync %s: %w", name, err)
	}
	return nil
}
