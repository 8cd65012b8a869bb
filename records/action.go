package records

// Action is the last change made to a record, as reported in its "_ferry" metadata and used to
// filter reads.
type Action string

// The actions a record can carry. A record that is saved again after being deleted is Added
// again.
const (
	Added   Action = "added"
	Updated Action = "updated"
	Deleted Action = "deleted"
)

// Counts tallies what a batch, or a whole run, did to the records of one model.
type Counts struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

// Add adds o to c, field by field.
func (c *Counts) Add(o Counts) {
	c.Added += o.Added
	c.Updated += o.Updated
	c.Deleted += o.Deleted
	c.Unchanged += o.Unchanged
}
