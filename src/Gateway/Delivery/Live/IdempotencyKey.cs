using System.Security.Cryptography;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The <c>Idempotency-Key</c> every forwarded event carries: the SHA-256 of its exact bytes, so it is the
/// same on every attempt and for Talkdesk's resend of the same event, and OCP® can drop repeats.
/// </summary>
internal static class IdempotencyKey
{
    public const string HeaderName = "Idempotency-Key";

    public static string Of(ReadOnlySpan<byte> body)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, hash);
        return Convert.ToHexStringLower(hash);
    }
}
