using System.Security.Cryptography;
using System.Text;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// A secret as configured: its plain UTF-8 bytes, or the SHA-256 given as <c>sha256:&lt;hex&gt;</c>. Only what is
/// configured as a hash is compared by hashing the presented value: SHA-256 of a short key costs ~0.7 µs, the
/// plain comparison ~0.1 µs (<c>bench/Gateway.Benchmarks</c> <c>EventPathCostBenchmarks</c>, issue #23).
/// </summary>
internal sealed class ConfiguredSecret
{
    private const string Prefix = "sha256:";
    private readonly byte[] _value;

    private ConfiguredSecret(byte[] value, bool hashed)
    {
        _value = value;
        IsHashed = hashed;
    }

    /// <summary>True when the configuration gave the secret's SHA-256 rather than the secret.</summary>
    public bool IsHashed { get; }

    /// <summary>The secret as configured: <c>sha256:&lt;64 hex digits&gt;</c> is a hash, anything else the secret itself.</summary>
    public static ConfiguredSecret Of(string configured) =>
        configured.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && configured.Length == Prefix.Length + 64
            ? new ConfiguredSecret(Convert.FromHexString(configured.AsSpan(Prefix.Length)), hashed: true)
            : new ConfiguredSecret(Encoding.UTF8.GetBytes(configured), hashed: false);

    /// <summary>
    /// True when <paramref name="presented"/> is any of <paramref name="accepted"/>. Every candidate is checked, and
    /// each comparison takes a time set by the configured secret alone, so neither which one matched, nor how much of
    /// it, nor a plain secret's length leaks through timing.
    /// </summary>
    public static bool MatchesAny(string presented, IReadOnlyList<ConfiguredSecret> accepted)
    {
        // The presented bytes sit in a zero-padded buffer at least as long as the longest plain secret, so each plain
        // comparison reads exactly the configured length: FixedTimeEquals answers at once when lengths differ, which
        // would time the configured length; the length check is folded in afterwards instead.
        var longest = 0;
        for (var i = 0; i < accepted.Count; i++)
        {
            longest = Math.Max(longest, accepted[i].IsHashed ? 0 : accepted[i]._value.Length);
        }

        var byteCount = Encoding.UTF8.GetByteCount(presented);
        var size = Math.Max(byteCount, longest);
        Span<byte> buffer = size <= 256 ? stackalloc byte[256] : new byte[size];
        var length = Encoding.UTF8.GetBytes(presented, buffer);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var hashed = false;
        var match = false;
        for (var i = 0; i < accepted.Count; i++)
        {
            var secret = accepted[i]._value;
            if (accepted[i].IsHashed)
            {
                if (!hashed)
                {
                    SHA256.HashData(buffer[..length], hash);
                    hashed = true;
                }

                match |= CryptographicOperations.FixedTimeEquals(hash, secret);
            }
            else
            {
                match |= CryptographicOperations.FixedTimeEquals(buffer[..secret.Length], secret) & length == secret.Length;
            }
        }

        return match;
    }
}
