package server

import "unicode"

// matchPattern reports whether name matches a QUERY_DIRECTORY search pattern, following
// MS-FSA 2.1.4.4 "Algorithm for Determining if a FileName Is in an Expression":
//
//   - any sequence of characters
//     ?  exactly one character
//     <  DOS_STAR: any sequence, but not past the name's last '.'
//     >  DOS_QM: one character, or nothing at a '.' or at the end of the name
//     "  DOS_DOT: a '.', or nothing at the end of the name
//
// It simulates the pattern as an NFA (a set of pattern positions), so hostile patterns such as
// "*a*a*a*a*b" cost O(len(pattern)·len(name)) rather than exponential backtracking.
func matchPattern(pattern, name string, ignoreCase bool) bool {
	p := []rune(pattern)
	n := []rune(name)
	lastDot := -1
	for i, c := range n {
		if c == '.' {
			lastDot = i
		}
	}
	cur := make([]bool, len(p)+1)
	next := make([]bool, len(p)+1)
	cur[0] = true
	closure(p, n, 0, cur)
	for i, c := range n {
		clear(next)
		any := false
		for s := 0; s < len(p); s++ {
			if !cur[s] {
				continue
			}
			switch p[s] {
			case '*':
				next[s] = true
			case '<':
				if !(c == '.' && i == lastDot) {
					next[s] = true
				}
			case '?':
				next[s+1] = true
			case '>':
				if c != '.' {
					next[s+1] = true
				}
			case '"':
				if c == '.' {
					next[s+1] = true
				}
			default:
				if p[s] == c || (ignoreCase && foldEqual(p[s], c)) {
					next[s+1] = true
				}
			}
		}
		for _, v := range next {
			any = any || v
		}
		if !any {
			return false
		}
		closure(p, n, i+1, next)
		cur, next = next, cur
	}
	return cur[len(p)]
}

// closure adds the positions reachable without consuming a name character at name index i.
func closure(p, n []rune, i int, set []bool) {
	for s := 0; s < len(p); s++ {
		if !set[s] {
			continue
		}
		switch p[s] {
		case '*', '<':
			set[s+1] = true
		case '>':
			if i == len(n) || n[i] == '.' {
				set[s+1] = true
			}
		case '"':
			if i == len(n) {
				set[s+1] = true
			}
		}
	}
}

func foldEqual(a, b rune) bool {
	return unicode.ToUpper(a) == unicode.ToUpper(b) || unicode.ToLower(a) == unicode.ToLower(b)
}
