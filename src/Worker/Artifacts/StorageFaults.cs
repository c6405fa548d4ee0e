using System.Data.Common;

namespace DSConvService.Worker.Artifacts;

/// <summary>Recognises faults of the storage underneath (not of the input): a full disk, a database that is away.</summary>
public static class StorageFaults
{
    private const int Enospc = 28;           // Linux/macOS errno "No space left on device"
    private const int WinDiskFull = 0x70;    // ERROR_DISK_FULL
    private const int WinHandleDiskFull = 0x27;
    private const int SqliteFull = 13;       // SQLITE_FULL

    /// <summary>True when the exception (or one it wraps) says the disk or the database is full.</summary>
    public static bool IsDiskFull(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case IOException io when (io.HResult & 0xFFFF) is Enospc or WinDiskFull or WinHandleDiskFull
                                         || io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase):
                    return true;
                // SqliteException.ErrorCode is the HRESULT (E_FAIL); the SQLite result code is SqliteErrorCode.
                case Microsoft.Data.Sqlite.SqliteException sqlite when sqlite.SqliteErrorCode == SqliteFull:
                    return true;
                case DbException db when db.SqlState == "53100":
                    return true;
            }
        }
        return false;
    }
}
