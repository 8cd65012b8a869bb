package crm

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// recordSize is the size, in bytes of JSON, that generated contacts are padded to.
const recordSize = 1024

// genesis is the time the generated data starts at. It is fixed, not the start time, so the
// same seed gives byte-identical data on every start.
var genesis = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances",
		"Ken", "Margaret", "Dennis", "Radia", "John", "Katherine", "Linus", "Shafi", "Tim",
		"Sophie", "Niklaus", "Hedy", "Leslie", "Anita", "Robin", "Jean", "Vint"}
	lastNames = []string{"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth",
		"Allen", "Thompson", "Hamilton", "Ritchie", "Perlman", "McCarthy", "Johnson", "Torvalds",
		"Goldwasser", "Berners-Lee", "Wilson", "Wirth", "Lamarr", "Lamport", "Borg", "Milner",
		"Sammet", "Cerf"}
	titles = []string{"CEO", "CTO", "VP Engineering", "Head of Sales", "Account Executive",
		"Office Manager", "Software Engineer", "Product Manager", "Data Analyst",
		"Customer Success Manager", "Procurement Lead", "Marketing Director"}
	tagPool = []string{"lead", "customer", "partner", "vip", "newsletter", "churn-risk",
		"trial", "enterprise", "smb", "event-2024"}
	streets = []string{"Main Street", "Harbour Road", "Elm Avenue", "Station Road",
		"Market Square", "Mill Lane", "King Street", "Park Avenue", "Canal Walk", "High Street"}
	places = [][2]string{{"Berlin", "Germany"}, {"Lisbon", "Portugal"}, {"Toronto", "Canada"},
		{"Austin", "United States"}, {"Lyon", "France"}, {"Osaka", "Japan"},
		{"Melbourne", "Australia"}, {"Utrecht", "Netherlands"}, {"Cork", "Ireland"},
		{"Porto Alegre", "Brazil"}}
	companyWords = []string{"Blue", "Harbor", "Summit", "Cedar", "Quantum", "Northwind",
		"Granite", "Silver", "Orbit", "Maple", "Atlas", "Beacon", "Copper", "Delta", "Ember"}
	companyKinds = []string{"Labs", "Logistics", "Systems", "Foods", "Analytics", "Partners",
		"Robotics", "Health", "Energy", "Media"}
	industries = []string{"Software", "Logistics", "Retail", "Healthcare", "Energy",
		"Manufacturing", "Finance", "Education", "Media", "Hospitality"}
)

// emailNames holds firstNames and lastNames as they appear in email addresses.
var emailNames = func() (out [2][]string) {
	for i, names := range [][]string{firstNames, lastNames} {
		for _, name := range names {
			out[i] = append(out[i], strings.ToLower(strings.ReplaceAll(name, "-", "")))
		}
	}
	return out
}()

// lorem is the text notes are cut from; loremStarts are the offsets of its words.
var lorem, loremStarts = func() (string, []int) {
	words := strings.Fields(`lorem ipsum dolor sit amet consectetur adipiscing elit sed do
		eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis
		nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat duis aute
		irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla
		pariatur excepteur sint occaecat cupidatat non proident sunt in culpa qui officia
		deserunt mollit anim id est laborum`)
	var b strings.Builder
	var starts []int
	for b.Len() < 4*recordSize {
		for _, w := range words {
			starts = append(starts, b.Len())
			b.WriteString(w)
			b.WriteByte(' ')
		}
	}
	return b.String(), starts
}()

// generator makes deterministic fake data from a seeded random source.
type generator struct {
	rng     *rand.Rand
	scratch []byte // reused by encodePadded
}

func newGenerator(seed int64, stream uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(uint64(seed), stream))}
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// company makes company number n.
func (g *generator) company(n int, updated time.Time) Company {
	a, b := g.pick(companyWords), g.pick(companyWords)
	kind := g.pick(companyKinds)
	return Company{
		ID:        companyID(n),
		Name:      a + " " + b + " " + kind,
		Domain:    strings.ToLower(a+b) + strconv.Itoa(n) + ".example",
		Industry:  g.pick(industries),
		Employees: 5 + g.rng.IntN(20000),
		UpdatedAt: updated,
	}
}

// contact makes contact number n at the given company (domain "" when there is none).
func (g *generator) contact(n int, companyID, domain string, created, updated time.Time) Contact {
	fi, li := g.rng.IntN(len(firstNames)), g.rng.IntN(len(lastNames))
	if domain == "" {
		domain = "example.com"
	}
	place := places[g.rng.IntN(len(places))]
	c := Contact{
		ID:        contactID(n),
		FirstName: firstNames[fi],
		LastName:  lastNames[li],
		Email:     emailNames[0][fi] + "." + emailNames[1][li] + "." + strconv.Itoa(n) + "@" + domain,
		CompanyID: companyID,
		Address: Address{
			Street:  strconv.Itoa(1+g.rng.IntN(250)) + " " + g.pick(streets),
			City:    place[0],
			Country: place[1],
		},
		CreatedAt: created,
		UpdatedAt: updated,
	}
	g.revise(&c)
	return c
}

// revise draws new values for the fields a generated update changes: title, phone, tags and
// notes.
func (g *generator) revise(c *Contact) {
	c.Title = g.pick(titles)
	c.Phone = "+1-555-" + strconv.Itoa(100+g.rng.IntN(900)) + "-" + strconv.Itoa(1000+g.rng.IntN(9000))
	k := 1 + g.rng.IntN(3)
	c.Tags = make([]string, 0, k)
	for len(c.Tags) < k {
		t := g.pick(tagPool)
		if !slices.Contains(c.Tags, t) {
			c.Tags = append(c.Tags, t)
		}
	}
	c.Notes = ""
}

// encodePadded fills c.Notes so that c's JSON is recordSize bytes and returns that JSON,
// in one allocation.
func (g *generator) encodePadded(c *Contact) []byte {
	head := appendContactHead(g.scratch[:0], c)
	all := appendContactTail(head, c)
	g.scratch = all
	tail := all[len(head):]
	need := recordSize - len(all) - len(`""`)
	if need < 0 {
		need = 0
	}
	start := loremStarts[g.rng.IntN(len(loremStarts)/2)]
	c.Notes = lorem[start : start+need]
	out := make([]byte, 0, len(all)+len(`""`)+need)
	out = append(out, head...)
	out = append(out, '"') // lorem is plain ASCII: nothing to escape
	out = append(out, c.Notes...)
	out = append(out, '"')
	return append(out, tail...)
}

// marshalGenerated encodes a generated record. Only a time outside years 0-9999 makes
// encoding/json fail on these types, and generated times are near the present, so an error
// is a bug in this package.
func marshalGenerated(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("crm: encode generated record: %v", err))
	}
	return b
}

// newContactEntry and newCompanyEntry store a generated record with its JSON.
func (g *generator) newContactEntry(c Contact) *contactEntry {
	b := g.encodePadded(&c)
	return &contactEntry{c: c, key: c.UpdatedAt.UnixNano(), json: b}
}

func newCompanyEntry(c Company) *companyEntry {
	return &companyEntry{c: c, json: marshalGenerated(c)}
}

// contactID and companyID format generated ids: "c-000042", "co-0007". Zero-padding keeps
// their string order equal to their numeric order (up to 999,999 and 9,999).
func contactID(n int) string { return "c-" + zeroPad(n, 6) }
func companyID(n int) string { return "co-" + zeroPad(n, 4) }

func zeroPad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// idNumber returns the number in a generated id ("c-000042" → 42), or 0 when id is not of
// that form, so ids added through the admin API still move the next generated id past them.
func idNumber(id, prefix string) int {
	digits, ok := strings.CutPrefix(id, prefix)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
