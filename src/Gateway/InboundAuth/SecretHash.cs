using System.Security.Cryptography;
using System.Text;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// Constant-time comparison of presented secrets: both sides are SHA-256 hashed to equal length and
/// compared with <see cref="CryptographicOperations.FixedTimeEquals"/>, and every candidate is checked,
/// so neither the length nor the position of a match leaks through timing.
/// </summary>
internal static class SecretHash
{
    private const string Prefix = "sha256:";

    /// <summary>The hash of a configured secret: its own hash, or the <c>sha256:&lt;hex&gt;</c> given.</summary>
    public static byte[] OfConfigured(string configured) =>
        configured.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && configured.Length == Prefix.Length + 64
            ? Convert.FromHexString(configured.AsSpan(Prefix.Length))
            : SHA256.HashData(Encoding.UTF8.GetBytes(configured));

    /// <summary>True when <paramref name="presented"/> hashes to any of <paramref name="accepted"/>.</summary>
    public static bool MatchesAny(string presented, IReadOnlyList<byte[]> accepted)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var byteCount = Encoding.UTF8.GetByteCount(presented);
        Span<byte> bytes = byteCount <= 512 ? stackalloc byte[512] : new byte[byteCount];
        var length = Encoding.UTF8.GetBytes(presented, bytes);
        SHA256.HashData(bytes[..length], hash);
        var match = false;
        for (var i = 0; i < accepted.Count; i++)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, accepted[i]);
        }

        return match;
    }
}
