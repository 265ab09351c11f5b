package wire

import (
	"errors"
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

func sampleAttrs() *FileAttrs {
	return &FileAttrs{CreationTime: 1, LastAccessTime: 2, LastWriteTime: 3, ChangeTime: 4, EndOfFile: 5000,
		AllocationSize: 8192, Attributes: FileAttributeArchive, FileID: 0x1234, NumberOfLinks: 1, EaSize: 0,
		Name: "file.txt", ShortName: "FILE.TXT"}
}

// TestFileInfoSizes pins the fixed sizes MS-FSCC gives for each class.
func TestFileInfoSizes(t *testing.T) {
	a := sampleAttrs()
	for _, c := range []struct {
		name string
		b    []byte
		want int
	}{
		{"basic", AppendFileBasicInformation(nil, a), 40},
		{"standard", AppendFileStandardInformation(nil, a), 24},
		{"internal", AppendFileInternalInformation(nil, a), 8},
		{"ea", AppendFileEaInformation(nil, a), 4},
		{"access", AppendFileAccessInformation(nil, FileAllAccess), 4},
		{"position", AppendFilePositionInformation(nil, 9), 8},
		{"mode", AppendFileModeInformation(nil, 0), 4},
		{"alignment", AppendFileAlignmentInformation(nil, 0), 4},
		{"name", AppendFileNameInformation(nil, `\file.txt`), 4 + 18},
		{"all", AppendFileAllInformation(nil, a, FileAllInfoExtra{}), 100 + 16},
		{"network open", AppendFileNetworkOpenInformation(nil, a), 56},
		{"attribute tag", AppendFileAttributeTagInformation(nil, a), 8},
		{"compression", AppendFileCompressionInformation(nil, a), 16},
		{"id", AppendFileIDInformation(nil, 7, a), 24},
		{"fs volume", (&FsVolume{Label: "vol"}).Append(nil), 18 + 6},
		{"fs size", (&FsSize{}).AppendSize(nil), 24},
		{"fs full size", (&FsSize{}).AppendFullSize(nil), 32},
		{"fs device", AppendFileFsDeviceInformation(nil, FileDeviceDisk, 0), 8},
		{"fs attribute", AppendFileFsAttributeInformation(nil, 0, 255, "NTFS"), 12 + 8},
		{"fs sector size", (&FsSectorSize{}).Append(nil), 28},
		{"fs object id", AppendFileFsObjectIDInformation(nil, GUID{}, [48]byte{}), 64},
		{"fs control", (&FsControl{}).Append(nil), 48},
	} {
		if len(c.b) != c.want {
			t.Errorf("%s: %d bytes, want %d", c.name, len(c.b), c.want)
		}
	}
	// Standard: DeletePending at 20, Directory at 21.
	a.DeletePending, a.Directory = true, true
	if s := AppendFileStandardInformation(nil, a); s[20] != 1 || s[21] != 1 || le.Uint64(s[8:]) != 5000 {
		t.Fatalf("standard % x", s)
	}
	// All: name length at 96, name at 100.
	all := AppendFileAllInformation(nil, a, FileAllInfoExtra{AccessFlags: 0x1F01FF, CurrentByteOffset: 77})
	if le.Uint32(all[96:]) != 16 || le.Uint32(all[76:]) != 0x1F01FF || le.Uint64(all[80:]) != 77 {
		t.Fatalf("all information % x", all)
	}
}

func TestSetInfoDecoders(t *testing.T) {
	var a FileAttrs
	basic := AppendFileBasicInformation(nil, sampleAttrs())
	if err := DecodeFileBasicInformation(basic, &a); err != nil || a.LastWriteTime != 3 || a.Attributes != FileAttributeArchive {
		t.Fatalf("%+v %v", a, err)
	}
	if err := DecodeFileBasicInformation(basic[:30], &a); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if v, err := DecodeFileEndOfFileInformation(le.AppendUint64(nil, 42)); v != 42 || err != nil {
		t.Fatal(v, err)
	}
	if _, err := DecodeFileAllocationInformation([]byte{1}); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if d, err := DecodeFileDispositionInformation([]byte{1}); !d || err != nil {
		t.Fatal(d, err)
	}
	if f, err := DecodeFileDispositionInformationEx(le.AppendUint32(nil, FileDispositionDelete|FileDispositionPosixSemantics)); f != 3 || err != nil {
		t.Fatal(f, err)
	}
	// Rename: ReplaceIfExists, 7 reserved, RootDirectory, length, name at 20.
	rn := (&RenameInformation{ReplaceIfExists: true, FileName: `d\h2`}).Append(nil)
	if len(rn) != 20+8 || rn[0] != 1 || le.Uint32(rn[16:]) != 8 {
		t.Fatalf("rename % x", rn)
	}
	var r RenameInformation
	if err := r.Decode(rn); err != nil || r.FileName != `d\h2` || !r.ReplaceIfExists {
		t.Fatalf("%+v %v", r, err)
	}
	le.PutUint32(rn[16:], 100)
	if err := r.Decode(rn); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	eas := []FullEA{{Name: "user.a", Value: []byte("xyz")}, {Flags: FileNeedEA, Name: "b"}}
	b := AppendFileFullEaInformation(nil, eas)
	if le.Uint32(b) != 20 { // 8 + 6 + 1 + 3 = 18 -> 20
		t.Fatalf("EA next %d", le.Uint32(b))
	}
	back, err := DecodeFileFullEaInformation(b)
	if err != nil || !sameValue(eas, back) {
		t.Fatalf("%+v %v", back, err)
	}
}

func TestStreamInformationRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var ss []StreamInfo
		for i := rapid.IntRange(0, 4).Draw(t, "n"); i > 0; i-- {
			ss = append(ss, StreamInfo{Name: genName().Draw(t, "name"), Size: rapid.Int64().Draw(t, "s"), AllocationSize: rapid.Int64().Draw(t, "a")})
		}
		back, err := DecodeFileStreamInformation(AppendFileStreamInformation(nil, ss))
		if err != nil || !sameValue(ss, back) {
			t.Fatalf("%+v -> %+v (%v)", ss, back, err)
		}
	})
}

var dirClasses = []uint8{FileDirectoryInformation, FileFullDirectoryInformation, FileBothDirectoryInformation,
	FileIDBothDirectoryInformation, FileIDFullDirectoryInformation, FileNamesInformation, FileIDExtdDirectoryInformation}

// TestDirWriter: entries are 8-aligned and linked, the cap is honoured
// exactly, and what was written decodes back to the input.
func TestDirWriter(t *testing.T) {
	for _, class := range dirClasses {
		t.Run(fmt.Sprint(class), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				max := rapid.IntRange(0, 2000).Draw(t, "max")
				prefix := genBytes(5).Draw(t, "prefix")
				w, ok := NewDirWriter(append([]byte(nil), prefix...), class, max)
				if !ok {
					t.Fatal("class unsupported")
				}
				var in []FileAttrs
				for i := rapid.IntRange(0, 30).Draw(t, "n"); i > 0; i-- {
					a := FileAttrs{Name: genName().Draw(t, "name"), EndOfFile: rapid.Int64().Draw(t, "eof"),
						CreationTime: rapid.Uint64().Draw(t, "ct"), Attributes: rapid.Uint32().Draw(t, "attr") &^ FileAttributeReparsePoint,
						FileID: rapid.Uint64().Draw(t, "id"), ShortName: rapid.StringMatching(`[A-Z]{0,8}`).Draw(t, "sn"),
						EaSize: rapid.Uint32().Draw(t, "ea")}
					if !w.Add(&a) {
						break
					}
					in = append(in, a)
				}
				out := w.Bytes()[len(prefix):]
				if len(out) > max || w.Len() != len(out) || w.Count() != len(in) {
					t.Fatalf("wrote %d bytes (len %d) of max %d, count %d/%d", len(out), w.Len(), max, w.Count(), len(in))
				}
				got, err := DecodeDirEntries(class, out)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(in) {
					t.Fatalf("decoded %d entries, wrote %d", len(got), len(in))
				}
				for i := range in {
					if got[i].Name != in[i].Name {
						t.Fatalf("entry %d name %q want %q", i, got[i].Name, in[i].Name)
					}
					if class != FileNamesInformation && (got[i].EndOfFile != in[i].EndOfFile || got[i].Attributes != in[i].Attributes || got[i].CreationTime != in[i].CreationTime) {
						t.Fatalf("entry %d: %+v want %+v", i, got[i], in[i])
					}
					if (class == FileIDBothDirectoryInformation || class == FileIDFullDirectoryInformation || class == FileIDExtdDirectoryInformation) && got[i].FileID != in[i].FileID {
						t.Fatalf("entry %d file id %x want %x", i, got[i].FileID, in[i].FileID)
					}
					if (class == FileBothDirectoryInformation || class == FileIDBothDirectoryInformation) && got[i].ShortName != in[i].ShortName {
						t.Fatalf("entry %d short name %q want %q", i, got[i].ShortName, in[i].ShortName)
					}
				}
				// Every NextEntryOffset is a multiple of 8.
				for off := 0; len(out) > 0; {
					next := le.Uint32(out[off:])
					if next == 0 {
						break
					}
					if next%8 != 0 {
						t.Fatalf("next entry offset %d", next)
					}
					off += int(next)
				}
			})
		})
	}
	if _, ok := NewDirWriter(nil, FileBasicInformation, 100); ok {
		t.Fatal("basic information accepted as a directory class")
	}
}

// TestDirWriterBothLayout pins FILE_ID_BOTH_DIR_INFORMATION offsets (MS-FSCC 2.4.17).
func TestDirWriterBothLayout(t *testing.T) {
	w, _ := NewDirWriter(nil, FileIDBothDirectoryInformation, 1000)
	w.Add(sampleAttrs())
	w.Add(&FileAttrs{Name: "b"})
	e := w.Bytes()
	if le.Uint32(e) != 120 { // 104 + 16 = 120, already aligned
		t.Fatalf("next %d", le.Uint32(e))
	}
	if le.Uint64(e[40:]) != 5000 || le.Uint64(e[48:]) != 8192 || le.Uint32(e[60:]) != 16 || e[68] != 16 ||
		le.Uint64(e[96:]) != 0x1234 || string(e[104:106]) != "f\x00" {
		t.Fatalf("layout % x", e[:120])
	}
	if len(e) != 120+104+2 {
		t.Fatalf("total %d", len(e))
	}
}

func FuzzDecodeDirEntries(f *testing.F) {
	w, _ := NewDirWriter(nil, FileIDBothDirectoryInformation, 4096)
	w.Add(sampleAttrs())
	w.Add(sampleAttrs())
	f.Add(FileIDBothDirectoryInformation, w.Bytes())
	f.Fuzz(func(t *testing.T, class uint8, data []byte) {
		checkAlloc(t, data, func() { _, _ = DecodeDirEntries(class, data) })
		_, err := DecodeDirEntries(class, data)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeFileInfo covers every SET_INFO payload decoder.
func FuzzDecodeFileInfo(f *testing.F) {
	f.Add((&RenameInformation{FileName: `x\y`}).Append(nil))
	f.Add(AppendFileFullEaInformation(nil, []FullEA{{Name: "a", Value: []byte("b")}}))
	f.Add(AppendFileStreamInformation(nil, []StreamInfo{{Name: "::$DATA"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, data, func() {
			_ = (&RenameInformation{}).Decode(data)
			_, _ = DecodeFileFullEaInformation(data)
			_, _ = DecodeFileStreamInformation(data)
		})
		var a FileAttrs
		check := func(err error) {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
		}
		check(DecodeFileBasicInformation(data, &a))
		_, err := DecodeFileEndOfFileInformation(data)
		check(err)
		_, err = DecodeFileDispositionInformation(data)
		check(err)
		_, err = DecodeFileDispositionInformationEx(data)
		check(err)
		_, err = DecodeFileModeInformation(data)
		check(err)
		var r RenameInformation
		if err := r.Decode(data); err == nil {
			var r2 RenameInformation
			if err := r2.Decode(r.Append(nil)); err != nil || r != r2 {
				t.Fatalf("rename %+v %+v %v", r, r2, err)
			}
		}
		if eas, err := DecodeFileFullEaInformation(data); err == nil {
			back, err := DecodeFileFullEaInformation(AppendFileFullEaInformation(nil, eas))
			if err != nil || !sameValue(eas, back) {
				t.Fatalf("EAs %+v %+v %v", eas, back, err)
			}
		}
		if ss, err := DecodeFileStreamInformation(data); err == nil {
			back, err := DecodeFileStreamInformation(AppendFileStreamInformation(nil, ss))
			if err != nil || !sameValue(ss, back) {
				t.Fatalf("streams %+v %+v %v", ss, back, err)
			}
		}
		var c FsControl
		check(c.Decode(data))
	})
}
