package sqlite

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// rankMessages sorts ms (newest first on entry) best match first, by a BM25
// score over the terms (term frequency saturating with k1 = 1.2, length
// normalised with b = 0.75 against the mean body length of ms; every term
// weighs the same, as the candidates all contain every term); equal scores
// keep their order, so newer first.
func rankMessages(ms []parley.Message, terms []string) {
	if len(ms) < 2 {
		return
	}
	const k1, b = 1.2, 0.75
	lower := make([]string, len(terms))
	for i, t := range terms {
		lower[i] = strings.ToLower(t)
	}
	lens := make([]float64, len(ms))
	var total float64
	for i, m := range ms {
		lens[i] = float64(utf8.RuneCountInString(m.Body))
		total += lens[i]
	}
	avg := max(total/float64(len(ms)), 1)
	score := make(map[string]float64, len(ms))
	for i, m := range ms {
		body := strings.ToLower(m.Body)
		var sc float64
		for _, t := range lower {
			if tf := float64(strings.Count(body, t)); tf > 0 {
				sc += tf * (k1 + 1) / (tf + k1*(1-b+b*lens[i]/avg))
			}
		}
		score[m.ID] = sc
	}
	slices.SortStableFunc(ms, func(x, y parley.Message) int {
		switch sx, sy := score[x.ID], score[y.ID]; {
		case sx > sy:
			return -1
		case sx < sy:
			return 1
		}
		return 0
	})
}
