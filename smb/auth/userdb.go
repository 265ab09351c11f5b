package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// The user database file: NT hashes, never passwords. Format (version 1):
//
//	sofs-users 1
//	domain-sid S-1-5-21-<a>-<b>-<c>
//	user:<name>:<rid>:<nt hash, 32 hex digits>
//	...
//
// Lines are LF-terminated; names cannot contain ':' or control characters, so the colon
// split is unambiguous. The domain SID is random, created at the first write, and gives
// every user the stable SID <domain-sid>-<rid>.

const (
	userDBMagic   = "sofs-users 1"
	firstUserRID  = 1000
	maxUserDBSize = 16 << 20 // refuse absurd files rather than reading them whole
	maxNameBytes  = 256
)

// User is one account of the database.
type User struct {
	Name   string
	RID    uint32
	NTHash [16]byte
	SID    string
}

// UserDB is an immutable, loaded user database; safe for concurrent use. A nil *UserDB
// holds no users.
type UserDB struct {
	domainSID string
	users     []User         // sorted by RID
	byName    map[string]int // upper-cased name -> index in users
}

// Errors of the user database editing functions.
var (
	ErrNoSuchUser = errors.New("no such user")
	ErrBadName    = errors.New("invalid user name")
)

// foldName is the case-insensitive key: Windows compares account names case-insensitively.
func foldName(name string) string { return strings.ToUpper(name) }

// ValidateName checks that name can be stored: non-empty valid UTF-8 of at most 256 bytes,
// no ':' (the field separator), no control characters, no '\\', '/' or '@' (which would
// be confused with DOMAIN\user, paths and user@realm), no leading or trailing space.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadName)
	case len(name) > maxNameBytes:
		return fmt.Errorf("%w: longer than %d bytes", ErrBadName, maxNameBytes)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadName)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: %q has leading or trailing space", ErrBadName, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || strings.ContainsRune(":\\/@", r) {
			return fmt.Errorf("%w: %q contains %q", ErrBadName, name, r)
		}
	}
	return nil
}

// ParseUserDB decodes a user database file's contents.
func ParseUserDB(data []byte) (*UserDB, error) {
	db := &UserDB{byName: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case line == 1:
			if text != userDBMagic {
				return nil, fmt.Errorf("user db line 1: %q is not %q", text, userDBMagic)
			}
		case strings.HasPrefix(text, "domain-sid "):
			if db.domainSID != "" {
				return nil, fmt.Errorf("user db line %d: second domain-sid", line)
			}
			sid := strings.TrimPrefix(text, "domain-sid ")
			if err := checkDomainSID(sid); err != nil {
				return nil, fmt.Errorf("user db line %d: %w", line, err)
			}
			db.domainSID = sid
		case strings.HasPrefix(text, "user:"):
			u, err := parseUserLine(text)
			if err != nil {
				return nil, fmt.Errorf("user db line %d: %w", line, err)
			}
			key := foldName(u.Name)
			if _, dup := db.byName[key]; dup {
				return nil, fmt.Errorf("user db line %d: duplicate user %q", line, u.Name)
			}
			db.byName[key] = len(db.users)
			db.users = append(db.users, u)
		case text == "" || strings.HasPrefix(text, "#"):
		default:
			return nil, fmt.Errorf("user db line %d: unknown record %q", line, text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("user db line %d: %w", line+1, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("user db: empty file, want %q header", userDBMagic)
	}
	if len(db.users) > 0 && db.domainSID == "" {
		return nil, errors.New("user db: users without a domain-sid line")
	}
	rids := map[uint32]bool{}
	for i := range db.users {
		u := &db.users[i]
		if rids[u.RID] {
			return nil, fmt.Errorf("user db: RID %d used twice", u.RID)
		}
		rids[u.RID] = true
		u.SID = db.domainSID + "-" + strconv.FormatUint(uint64(u.RID), 10)
	}
	sort.Slice(db.users, func(i, j int) bool { return db.users[i].RID < db.users[j].RID })
	for i, u := range db.users {
		db.byName[foldName(u.Name)] = i
	}
	return db, nil
}

func parseUserLine(text string) (User, error) {
	f := strings.Split(text, ":")
	if len(f) != 4 {
		return User{}, fmt.Errorf("user record has %d fields, want 4", len(f))
	}
	if err := ValidateName(f[1]); err != nil {
		return User{}, err
	}
	rid, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil || rid < firstUserRID {
		return User{}, fmt.Errorf("user %q: bad RID %q", f[1], f[2])
	}
	h, err := hex.DecodeString(f[3])
	if err != nil || len(h) != 16 {
		return User{}, fmt.Errorf("user %q: NT hash is not 32 hex digits", f[1])
	}
	u := User{Name: f[1], RID: uint32(rid)}
	copy(u.NTHash[:], h)
	return u, nil
}

func checkDomainSID(sid string) error {
	parts := strings.Split(sid, "-")
	if len(parts) != 7 || strings.Join(parts[:4], "-") != "S-1-5-21" {
		return fmt.Errorf("domain sid %q is not S-1-5-21-a-b-c", sid)
	}
	for _, p := range parts[4:] {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return fmt.Errorf("domain sid %q: sub-authority %q: %w", sid, p, err)
		}
	}
	return nil
}

// encode renders db in the file format.
func (db *UserDB) encode() []byte {
	var b bytes.Buffer
	b.WriteString(userDBMagic + "\n")
	b.WriteString("domain-sid " + db.domainSID + "\n")
	for _, u := range db.users {
		fmt.Fprintf(&b, "user:%s:%d:%s\n", u.Name, u.RID, hex.EncodeToString(u.NTHash[:]))
	}
	return b.Bytes()
}

// LoadUserDB reads the database at path. Writers replace the file atomically, so a load
// concurrent with an edit sees either the old or the new contents.
func LoadUserDB(path string) (*UserDB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load user db: %w", err)
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, fmt.Errorf("load user db %s: %w", path, err)
	}
	db, err := ParseUserDB(data)
	if err != nil {
		return nil, fmt.Errorf("load user db %s: %w", path, err)
	}
	return db, nil
}

func readLimited(f *os.File) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxUserDBSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxUserDBSize {
		return nil, fmt.Errorf("larger than %d bytes", maxUserDBSize)
	}
	return data, nil
}

// Lookup finds a user by name, case-insensitively.
func (db *UserDB) Lookup(name string) (User, bool) {
	if db == nil {
		return User{}, false
	}
	i, ok := db.byName[foldName(name)]
	if !ok {
		return User{}, false
	}
	return db.users[i], true
}

// Users returns all users ordered by RID.
func (db *UserDB) Users() []User {
	if db == nil {
		return nil
	}
	return append([]User(nil), db.users...)
}

// DomainSID is the database's machine domain SID (empty for a database never written).
func (db *UserDB) DomainSID() string {
	if db == nil {
		return ""
	}
	return db.domainSID
}

// AddUser stores name with the NT hash of password in the database at path, creating
// the file (mode 0600) and its domain SID if needed. If the user exists its hash is
// replaced and its RID kept, so AddUser also changes passwords.
func AddUser(path, name, password string) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	return editUserDB(path, func(db *UserDB) error {
		h := NTHash(password)
		if i, ok := db.byName[foldName(name)]; ok {
			db.users[i].NTHash = h
			return nil
		}
		rid := uint32(firstUserRID)
		for _, u := range db.users {
			rid = max(rid, u.RID+1)
		}
		db.byName[foldName(name)] = len(db.users)
		db.users = append(db.users, User{Name: name, RID: rid, NTHash: h})
		return nil
	})
}

// DelUser removes name from the database at path.
func DelUser(path, name string) error {
	return editUserDB(path, func(db *UserDB) error {
		i, ok := db.byName[foldName(name)]
		if !ok {
			return fmt.Errorf("del user %q: %w", name, ErrNoSuchUser)
		}
		db.users = append(db.users[:i], db.users[i+1:]...)
		return nil
	})
}

// editUserDB loads (or creates) the database under an exclusive lock on path+".lock",
// applies edit and writes the result atomically: temp file in the same directory,
// fsync, rename over path, fsync the directory.
func editUserDB(path string, edit func(*UserDB) error) error {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock user db: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock user db %s: %w", path, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	db, err := LoadUserDB(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		db = &UserDB{byName: map[string]int{}}
	case err != nil:
		return err
	}
	if db.domainSID == "" {
		var r [12]byte
		if _, err := rand.Read(r[:]); err != nil {
			return fmt.Errorf("user db: domain sid: %w", err)
		}
		db.domainSID = fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.LittleEndian.Uint32(r[0:]),
			binary.LittleEndian.Uint32(r[4:]), binary.LittleEndian.Uint32(r[8:]))
	}
	if err := edit(db); err != nil {
		return err
	}
	return writeFileAtomic(path, db.encode())
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write user db: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write user db: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write user db: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write user db: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write user db: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write user db: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: the rename is durable once the directory is synced
		d.Close()
	}
	return nil
}
