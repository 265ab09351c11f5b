package wire

import "fmt"

// Status is an NTSTATUS value (MS-ERREF 2.3). Severity is in the top two bits:
// 0 success, 1 informational, 2 warning, 3 error.
type Status uint32

const (
	StatusSuccess                          Status = 0x00000000 // STATUS_SUCCESS
	StatusPending                          Status = 0x00000103 // STATUS_PENDING
	StatusReparse                          Status = 0x00000104 // STATUS_REPARSE
	StatusSomeNotMapped                    Status = 0x00000107 // STATUS_SOME_NOT_MAPPED
	StatusNotifyCleanup                    Status = 0x0000010B // STATUS_NOTIFY_CLEANUP
	StatusNotifyEnumDir                    Status = 0x0000010C // STATUS_NOTIFY_ENUM_DIR
	StatusObjectNameExists                 Status = 0x40000000 // STATUS_OBJECT_NAME_EXISTS
	StatusBufferOverflow                   Status = 0x80000005 // STATUS_BUFFER_OVERFLOW
	StatusNoMoreFiles                      Status = 0x80000006 // STATUS_NO_MORE_FILES
	StatusNoMoreEAs                        Status = 0x80000012 // STATUS_NO_MORE_EAS
	StatusInvalidEAName                    Status = 0x80000013 // STATUS_INVALID_EA_NAME
	StatusEAListInconsistent               Status = 0x80000014 // STATUS_EA_LIST_INCONSISTENT
	StatusStoppedOnSymlink                 Status = 0x8000002D // STATUS_STOPPED_ON_SYMLINK
	StatusUnsuccessful                     Status = 0xC0000001 // STATUS_UNSUCCESSFUL
	StatusNotImplemented                   Status = 0xC0000002 // STATUS_NOT_IMPLEMENTED
	StatusInvalidInfoClass                 Status = 0xC0000003 // STATUS_INVALID_INFO_CLASS
	StatusInfoLengthMismatch               Status = 0xC0000004 // STATUS_INFO_LENGTH_MISMATCH
	StatusAccessViolation                  Status = 0xC0000005 // STATUS_ACCESS_VIOLATION
	StatusInvalidHandle                    Status = 0xC0000008 // STATUS_INVALID_HANDLE
	StatusInvalidParameter                 Status = 0xC000000D // STATUS_INVALID_PARAMETER
	StatusNoSuchDevice                     Status = 0xC000000E // STATUS_NO_SUCH_DEVICE
	StatusNoSuchFile                       Status = 0xC000000F // STATUS_NO_SUCH_FILE
	StatusInvalidDeviceRequest             Status = 0xC0000010 // STATUS_INVALID_DEVICE_REQUEST
	StatusEndOfFile                        Status = 0xC0000011 // STATUS_END_OF_FILE
	StatusMoreProcessingRequired           Status = 0xC0000016 // STATUS_MORE_PROCESSING_REQUIRED
	StatusNoMemory                         Status = 0xC0000017 // STATUS_NO_MEMORY
	StatusAccessDenied                     Status = 0xC0000022 // STATUS_ACCESS_DENIED
	StatusBufferTooSmall                   Status = 0xC0000023 // STATUS_BUFFER_TOO_SMALL
	StatusInvalidOwner                     Status = 0xC000005A // STATUS_INVALID_OWNER
	StatusObjectTypeMismatch               Status = 0xC0000024 // STATUS_OBJECT_TYPE_MISMATCH
	StatusNotLocked                        Status = 0xC000002A // STATUS_NOT_LOCKED
	StatusDiskCorruptError                 Status = 0xC0000032 // STATUS_DISK_CORRUPT_ERROR
	StatusObjectNameInvalid                Status = 0xC0000033 // STATUS_OBJECT_NAME_INVALID
	StatusObjectNameNotFound               Status = 0xC0000034 // STATUS_OBJECT_NAME_NOT_FOUND
	StatusObjectNameCollision              Status = 0xC0000035 // STATUS_OBJECT_NAME_COLLISION
	StatusObjectPathInvalid                Status = 0xC0000039 // STATUS_OBJECT_PATH_INVALID
	StatusObjectPathNotFound               Status = 0xC000003A // STATUS_OBJECT_PATH_NOT_FOUND
	StatusObjectPathSyntaxBad              Status = 0xC000003B // STATUS_OBJECT_PATH_SYNTAX_BAD
	StatusDataError                        Status = 0xC000003E // STATUS_DATA_ERROR
	StatusSharingViolation                 Status = 0xC0000043 // STATUS_SHARING_VIOLATION
	StatusEAsNotSupported                  Status = 0xC000004F // STATUS_EAS_NOT_SUPPORTED
	StatusNonexistentEAEntry               Status = 0xC0000051 // STATUS_NONEXISTENT_EA_ENTRY
	StatusNoEAsOnFile                      Status = 0xC0000052 // STATUS_NO_EAS_ON_FILE
	StatusEACorruptError                   Status = 0xC0000053 // STATUS_EA_CORRUPT_ERROR
	StatusFileLockConflict                 Status = 0xC0000054 // STATUS_FILE_LOCK_CONFLICT
	StatusLockNotGranted                   Status = 0xC0000055 // STATUS_LOCK_NOT_GRANTED
	StatusDeletePending                    Status = 0xC0000056 // STATUS_DELETE_PENDING
	StatusNoLogonServers                   Status = 0xC000005E // STATUS_NO_LOGON_SERVERS
	StatusNoSuchLogonSession               Status = 0xC000005F // STATUS_NO_SUCH_LOGON_SESSION
	StatusPrivilegeNotHeld                 Status = 0xC0000061 // STATUS_PRIVILEGE_NOT_HELD
	StatusNoSuchUser                       Status = 0xC0000064 // STATUS_NO_SUCH_USER
	StatusWrongPassword                    Status = 0xC000006A // STATUS_WRONG_PASSWORD
	StatusLogonFailure                     Status = 0xC000006D // STATUS_LOGON_FAILURE
	StatusAccountRestriction               Status = 0xC000006E // STATUS_ACCOUNT_RESTRICTION
	StatusInvalidLogonHours                Status = 0xC000006F // STATUS_INVALID_LOGON_HOURS
	StatusInvalidWorkstation               Status = 0xC0000070 // STATUS_INVALID_WORKSTATION
	StatusPasswordExpired                  Status = 0xC0000071 // STATUS_PASSWORD_EXPIRED
	StatusAccountDisabled                  Status = 0xC0000072 // STATUS_ACCOUNT_DISABLED
	StatusNoneMapped                       Status = 0xC0000073 // STATUS_NONE_MAPPED
	StatusInvalidACL                       Status = 0xC0000077 // STATUS_INVALID_ACL
	StatusInvalidSID                       Status = 0xC0000078 // STATUS_INVALID_SID
	StatusInvalidSecurityDescr             Status = 0xC0000079 // STATUS_INVALID_SECURITY_DESCR
	StatusRangeNotLocked                   Status = 0xC000007E // STATUS_RANGE_NOT_LOCKED
	StatusDiskFull                         Status = 0xC000007F // STATUS_DISK_FULL
	StatusInvalidVolumeLabel               Status = 0xC0000086 // STATUS_INVALID_VOLUME_LABEL
	StatusFileInvalid                      Status = 0xC0000098 // STATUS_FILE_INVALID
	StatusInsufficientResources            Status = 0xC000009A // STATUS_INSUFFICIENT_RESOURCES
	StatusMediaWriteProtected              Status = 0xC00000A2 // STATUS_MEDIA_WRITE_PROTECTED
	StatusDeviceNotReady                   Status = 0xC00000A3 // STATUS_DEVICE_NOT_READY
	StatusBadImpersonationLevel            Status = 0xC00000A5 // STATUS_BAD_IMPERSONATION_LEVEL
	StatusInvalidPipeState                 Status = 0xC00000AD // STATUS_INVALID_PIPE_STATE
	StatusPipeBusy                         Status = 0xC00000AE // STATUS_PIPE_BUSY
	StatusIllegalFunction                  Status = 0xC00000AF // STATUS_ILLEGAL_FUNCTION
	StatusPipeDisconnected                 Status = 0xC00000B0 // STATUS_PIPE_DISCONNECTED
	StatusPipeClosing                      Status = 0xC00000B1 // STATUS_PIPE_CLOSING
	StatusIOTimeout                        Status = 0xC00000B5 // STATUS_IO_TIMEOUT
	StatusFileIsADirectory                 Status = 0xC00000BA // STATUS_FILE_IS_A_DIRECTORY
	StatusNotSupported                     Status = 0xC00000BB // STATUS_NOT_SUPPORTED
	StatusBadNetworkPath                   Status = 0xC00000BE // STATUS_BAD_NETWORK_PATH
	StatusInvalidNetworkResponse           Status = 0xC00000C3 // STATUS_INVALID_NETWORK_RESPONSE
	StatusNetworkNameDeleted               Status = 0xC00000C9 // STATUS_NETWORK_NAME_DELETED
	StatusNetworkAccessDenied              Status = 0xC00000CA // STATUS_NETWORK_ACCESS_DENIED
	StatusBadDeviceType                    Status = 0xC00000CB // STATUS_BAD_DEVICE_TYPE
	StatusBadNetworkName                   Status = 0xC00000CC // STATUS_BAD_NETWORK_NAME
	StatusRequestNotAccepted               Status = 0xC00000D0 // STATUS_REQUEST_NOT_ACCEPTED
	StatusNotSameDevice                    Status = 0xC00000D4 // STATUS_NOT_SAME_DEVICE
	StatusFileRenamed                      Status = 0xC00000D5 // STATUS_FILE_RENAMED
	StatusPipeEmpty                        Status = 0xC00000D9 // STATUS_PIPE_EMPTY
	StatusOplockNotGranted                 Status = 0xC00000E2 // STATUS_OPLOCK_NOT_GRANTED
	StatusInvalidOplockProtocol            Status = 0xC00000E3 // STATUS_INVALID_OPLOCK_PROTOCOL
	StatusInternalError                    Status = 0xC00000E5 // STATUS_INTERNAL_ERROR
	StatusInvalidUserBuffer                Status = 0xC00000E8 // STATUS_INVALID_USER_BUFFER
	StatusUnexpectedIOError                Status = 0xC00000E9 // STATUS_UNEXPECTED_IO_ERROR
	StatusDirectoryNotEmpty                Status = 0xC0000101 // STATUS_DIRECTORY_NOT_EMPTY
	StatusFileCorruptError                 Status = 0xC0000102 // STATUS_FILE_CORRUPT_ERROR
	StatusNotADirectory                    Status = 0xC0000103 // STATUS_NOT_A_DIRECTORY
	StatusNameTooLong                      Status = 0xC0000106 // STATUS_NAME_TOO_LONG
	StatusTooManyOpenedFiles               Status = 0xC000011F // STATUS_TOO_MANY_OPENED_FILES
	StatusCancelled                        Status = 0xC0000120 // STATUS_CANCELLED
	StatusCannotDelete                     Status = 0xC0000121 // STATUS_CANNOT_DELETE
	StatusFileDeleted                      Status = 0xC0000123 // STATUS_FILE_DELETED
	StatusFileClosed                       Status = 0xC0000128 // STATUS_FILE_CLOSED
	StatusPipeBroken                       Status = 0xC000014B // STATUS_PIPE_BROKEN
	StatusInvalidDeviceState               Status = 0xC0000184 // STATUS_INVALID_DEVICE_STATE
	StatusAccountExpired                   Status = 0xC0000193 // STATUS_ACCOUNT_EXPIRED
	StatusFsDriverRequired                 Status = 0xC000019C // STATUS_FS_DRIVER_REQUIRED
	StatusInvalidLockRange                 Status = 0xC00001A1 // STATUS_INVALID_LOCK_RANGE
	StatusUserSessionDeleted               Status = 0xC0000203 // STATUS_USER_SESSION_DELETED
	StatusConnectionDisconnected           Status = 0xC000020C // STATUS_CONNECTION_DISCONNECTED
	StatusConnectionReset                  Status = 0xC000020D // STATUS_CONNECTION_RESET
	StatusInsuffServerResources            Status = 0xC0000205 // STATUS_INSUFF_SERVER_RESOURCES
	StatusNotFound                         Status = 0xC0000225 // STATUS_NOT_FOUND
	StatusPasswordMustChange               Status = 0xC0000224 // STATUS_PASSWORD_MUST_CHANGE
	StatusDuplicateObjectID                Status = 0xC000022A // STATUS_DUPLICATE_OBJECTID
	StatusObjectIDExists                   Status = 0xC000022B // STATUS_OBJECTID_EXISTS
	StatusAccountLockedOut                 Status = 0xC0000234 // STATUS_ACCOUNT_LOCKED_OUT
	StatusRequestAborted                   Status = 0xC0000240 // STATUS_REQUEST_ABORTED
	StatusUserMappedFile                   Status = 0xC0000243 // STATUS_USER_MAPPED_FILE
	StatusPathNotCovered                   Status = 0xC0000257 // STATUS_PATH_NOT_COVERED
	StatusTooManyLinks                     Status = 0xC0000265 // STATUS_TOO_MANY_LINKS
	StatusVolumeDismounted                 Status = 0xC000026E // STATUS_VOLUME_DISMOUNTED
	StatusNotAReparsePoint                 Status = 0xC0000275 // STATUS_NOT_A_REPARSE_POINT
	StatusIOReparseTagNotHandled           Status = 0xC0000279 // STATUS_IO_REPARSE_TAG_NOT_HANDLED
	StatusNetworkSessionExpired            Status = 0xC000035C // STATUS_NETWORK_SESSION_EXPIRED
	StatusFileSystemLimitation             Status = 0xC0000427 // STATUS_FILE_SYSTEM_LIMITATION
	StatusRequestOutOfSequence             Status = 0xC000042A // STATUS_REQUEST_OUT_OF_SEQUENCE
	StatusServerUnavailable                Status = 0xC0000466 // STATUS_SERVER_UNAVAILABLE
	StatusFileNotAvailable                 Status = 0xC0000467 // STATUS_FILE_NOT_AVAILABLE
	StatusSMBNoPreauthIntegrityHashOverlap Status = 0xC05D0000 // STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP
	StatusSMBBadClusterDialect             Status = 0xC05D0001 // STATUS_SMB_BAD_CLUSTER_DIALECT
)

var statusNames = map[Status]string{
	StatusSuccess:                          "STATUS_SUCCESS",
	StatusPending:                          "STATUS_PENDING",
	StatusReparse:                          "STATUS_REPARSE",
	StatusSomeNotMapped:                    "STATUS_SOME_NOT_MAPPED",
	StatusNotifyCleanup:                    "STATUS_NOTIFY_CLEANUP",
	StatusNotifyEnumDir:                    "STATUS_NOTIFY_ENUM_DIR",
	StatusObjectNameExists:                 "STATUS_OBJECT_NAME_EXISTS",
	StatusBufferOverflow:                   "STATUS_BUFFER_OVERFLOW",
	StatusNoMoreFiles:                      "STATUS_NO_MORE_FILES",
	StatusNoMoreEAs:                        "STATUS_NO_MORE_EAS",
	StatusInvalidEAName:                    "STATUS_INVALID_EA_NAME",
	StatusEAListInconsistent:               "STATUS_EA_LIST_INCONSISTENT",
	StatusStoppedOnSymlink:                 "STATUS_STOPPED_ON_SYMLINK",
	StatusUnsuccessful:                     "STATUS_UNSUCCESSFUL",
	StatusNotImplemented:                   "STATUS_NOT_IMPLEMENTED",
	StatusInvalidInfoClass:                 "STATUS_INVALID_INFO_CLASS",
	StatusInfoLengthMismatch:               "STATUS_INFO_LENGTH_MISMATCH",
	StatusAccessViolation:                  "STATUS_ACCESS_VIOLATION",
	StatusInvalidHandle:                    "STATUS_INVALID_HANDLE",
	StatusInvalidParameter:                 "STATUS_INVALID_PARAMETER",
	StatusNoSuchDevice:                     "STATUS_NO_SUCH_DEVICE",
	StatusNoSuchFile:                       "STATUS_NO_SUCH_FILE",
	StatusInvalidDeviceRequest:             "STATUS_INVALID_DEVICE_REQUEST",
	StatusEndOfFile:                        "STATUS_END_OF_FILE",
	StatusMoreProcessingRequired:           "STATUS_MORE_PROCESSING_REQUIRED",
	StatusNoMemory:                         "STATUS_NO_MEMORY",
	StatusAccessDenied:                     "STATUS_ACCESS_DENIED",
	StatusBufferTooSmall:                   "STATUS_BUFFER_TOO_SMALL",
	StatusInvalidOwner:                     "STATUS_INVALID_OWNER",
	StatusObjectTypeMismatch:               "STATUS_OBJECT_TYPE_MISMATCH",
	StatusNotLocked:                        "STATUS_NOT_LOCKED",
	StatusDiskCorruptError:                 "STATUS_DISK_CORRUPT_ERROR",
	StatusObjectNameInvalid:                "STATUS_OBJECT_NAME_INVALID",
	StatusObjectNameNotFound:               "STATUS_OBJECT_NAME_NOT_FOUND",
	StatusObjectNameCollision:              "STATUS_OBJECT_NAME_COLLISION",
	StatusObjectPathInvalid:                "STATUS_OBJECT_PATH_INVALID",
	StatusObjectPathNotFound:               "STATUS_OBJECT_PATH_NOT_FOUND",
	StatusObjectPathSyntaxBad:              "STATUS_OBJECT_PATH_SYNTAX_BAD",
	StatusDataError:                        "STATUS_DATA_ERROR",
	StatusSharingViolation:                 "STATUS_SHARING_VIOLATION",
	StatusEAsNotSupported:                  "STATUS_EAS_NOT_SUPPORTED",
	StatusNonexistentEAEntry:               "STATUS_NONEXISTENT_EA_ENTRY",
	StatusNoEAsOnFile:                      "STATUS_NO_EAS_ON_FILE",
	StatusEACorruptError:                   "STATUS_EA_CORRUPT_ERROR",
	StatusFileLockConflict:                 "STATUS_FILE_LOCK_CONFLICT",
	StatusLockNotGranted:                   "STATUS_LOCK_NOT_GRANTED",
	StatusDeletePending:                    "STATUS_DELETE_PENDING",
	StatusNoLogonServers:                   "STATUS_NO_LOGON_SERVERS",
	StatusNoSuchLogonSession:               "STATUS_NO_SUCH_LOGON_SESSION",
	StatusPrivilegeNotHeld:                 "STATUS_PRIVILEGE_NOT_HELD",
	StatusNoSuchUser:                       "STATUS_NO_SUCH_USER",
	StatusWrongPassword:                    "STATUS_WRONG_PASSWORD",
	StatusLogonFailure:                     "STATUS_LOGON_FAILURE",
	StatusAccountRestriction:               "STATUS_ACCOUNT_RESTRICTION",
	StatusInvalidLogonHours:                "STATUS_INVALID_LOGON_HOURS",
	StatusInvalidWorkstation:               "STATUS_INVALID_WORKSTATION",
	StatusPasswordExpired:                  "STATUS_PASSWORD_EXPIRED",
	StatusAccountDisabled:                  "STATUS_ACCOUNT_DISABLED",
	StatusNoneMapped:                       "STATUS_NONE_MAPPED",
	StatusInvalidACL:                       "STATUS_INVALID_ACL",
	StatusInvalidSID:                       "STATUS_INVALID_SID",
	StatusInvalidSecurityDescr:             "STATUS_INVALID_SECURITY_DESCR",
	StatusRangeNotLocked:                   "STATUS_RANGE_NOT_LOCKED",
	StatusDiskFull:                         "STATUS_DISK_FULL",
	StatusInvalidVolumeLabel:               "STATUS_INVALID_VOLUME_LABEL",
	StatusFileInvalid:                      "STATUS_FILE_INVALID",
	StatusInsufficientResources:            "STATUS_INSUFFICIENT_RESOURCES",
	StatusMediaWriteProtected:              "STATUS_MEDIA_WRITE_PROTECTED",
	StatusDeviceNotReady:                   "STATUS_DEVICE_NOT_READY",
	StatusBadImpersonationLevel:            "STATUS_BAD_IMPERSONATION_LEVEL",
	StatusInvalidPipeState:                 "STATUS_INVALID_PIPE_STATE",
	StatusPipeBusy:                         "STATUS_PIPE_BUSY",
	StatusIllegalFunction:                  "STATUS_ILLEGAL_FUNCTION",
	StatusPipeDisconnected:                 "STATUS_PIPE_DISCONNECTED",
	StatusPipeClosing:                      "STATUS_PIPE_CLOSING",
	StatusIOTimeout:                        "STATUS_IO_TIMEOUT",
	StatusFileIsADirectory:                 "STATUS_FILE_IS_A_DIRECTORY",
	StatusNotSupported:                     "STATUS_NOT_SUPPORTED",
	StatusBadNetworkPath:                   "STATUS_BAD_NETWORK_PATH",
	StatusInvalidNetworkResponse:           "STATUS_INVALID_NETWORK_RESPONSE",
	StatusNetworkNameDeleted:               "STATUS_NETWORK_NAME_DELETED",
	StatusNetworkAccessDenied:              "STATUS_NETWORK_ACCESS_DENIED",
	StatusBadDeviceType:                    "STATUS_BAD_DEVICE_TYPE",
	StatusBadNetworkName:                   "STATUS_BAD_NETWORK_NAME",
	StatusRequestNotAccepted:               "STATUS_REQUEST_NOT_ACCEPTED",
	StatusNotSameDevice:                    "STATUS_NOT_SAME_DEVICE",
	StatusFileRenamed:                      "STATUS_FILE_RENAMED",
	StatusPipeEmpty:                        "STATUS_PIPE_EMPTY",
	StatusOplockNotGranted:                 "STATUS_OPLOCK_NOT_GRANTED",
	StatusInvalidOplockProtocol:            "STATUS_INVALID_OPLOCK_PROTOCOL",
	StatusInternalError:                    "STATUS_INTERNAL_ERROR",
	StatusInvalidUserBuffer:                "STATUS_INVALID_USER_BUFFER",
	StatusUnexpectedIOError:                "STATUS_UNEXPECTED_IO_ERROR",
	StatusDirectoryNotEmpty:                "STATUS_DIRECTORY_NOT_EMPTY",
	StatusFileCorruptError:                 "STATUS_FILE_CORRUPT_ERROR",
	StatusNotADirectory:                    "STATUS_NOT_A_DIRECTORY",
	StatusNameTooLong:                      "STATUS_NAME_TOO_LONG",
	StatusTooManyOpenedFiles:               "STATUS_TOO_MANY_OPENED_FILES",
	StatusCancelled:                        "STATUS_CANCELLED",
	StatusCannotDelete:                     "STATUS_CANNOT_DELETE",
	StatusFileDeleted:                      "STATUS_FILE_DELETED",
	StatusFileClosed:                       "STATUS_FILE_CLOSED",
	StatusPipeBroken:                       "STATUS_PIPE_BROKEN",
	StatusInvalidDeviceState:               "STATUS_INVALID_DEVICE_STATE",
	StatusAccountExpired:                   "STATUS_ACCOUNT_EXPIRED",
	StatusFsDriverRequired:                 "STATUS_FS_DRIVER_REQUIRED",
	StatusInvalidLockRange:                 "STATUS_INVALID_LOCK_RANGE",
	StatusUserSessionDeleted:               "STATUS_USER_SESSION_DELETED",
	StatusConnectionDisconnected:           "STATUS_CONNECTION_DISCONNECTED",
	StatusConnectionReset:                  "STATUS_CONNECTION_RESET",
	StatusInsuffServerResources:            "STATUS_INSUFF_SERVER_RESOURCES",
	StatusNotFound:                         "STATUS_NOT_FOUND",
	StatusPasswordMustChange:               "STATUS_PASSWORD_MUST_CHANGE",
	StatusDuplicateObjectID:                "STATUS_DUPLICATE_OBJECTID",
	StatusObjectIDExists:                   "STATUS_OBJECTID_EXISTS",
	StatusAccountLockedOut:                 "STATUS_ACCOUNT_LOCKED_OUT",
	StatusRequestAborted:                   "STATUS_REQUEST_ABORTED",
	StatusUserMappedFile:                   "STATUS_USER_MAPPED_FILE",
	StatusPathNotCovered:                   "STATUS_PATH_NOT_COVERED",
	StatusTooManyLinks:                     "STATUS_TOO_MANY_LINKS",
	StatusVolumeDismounted:                 "STATUS_VOLUME_DISMOUNTED",
	StatusNotAReparsePoint:                 "STATUS_NOT_A_REPARSE_POINT",
	StatusIOReparseTagNotHandled:           "STATUS_IO_REPARSE_TAG_NOT_HANDLED",
	StatusNetworkSessionExpired:            "STATUS_NETWORK_SESSION_EXPIRED",
	StatusFileSystemLimitation:             "STATUS_FILE_SYSTEM_LIMITATION",
	StatusRequestOutOfSequence:             "STATUS_REQUEST_OUT_OF_SEQUENCE",
	StatusServerUnavailable:                "STATUS_SERVER_UNAVAILABLE",
	StatusFileNotAvailable:                 "STATUS_FILE_NOT_AVAILABLE",
	StatusSMBNoPreauthIntegrityHashOverlap: "STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP",
	StatusSMBBadClusterDialect:             "STATUS_SMB_BAD_CLUSTER_DIALECT",
}

// String returns the canonical name, e.g. "STATUS_OBJECT_NAME_NOT_FOUND", or
// the hex value for codes without a name here.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("STATUS_0x%08X", uint32(s))
}

// Error makes a Status usable as an error value (errors.As(err, &st)).
func (s Status) Error() string { return s.String() }

// IsError reports whether the severity is STATUS_SEVERITY_ERROR.
func (s Status) IsError() bool { return s>>30 == 3 }

// IsWarning reports whether the severity is STATUS_SEVERITY_WARNING; such
// responses (e.g. STATUS_BUFFER_OVERFLOW) still carry a normal body.
func (s Status) IsWarning() bool { return s>>30 == 2 }
