using System.Security.Cryptography;
using System.Text;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>The body encryption's ciphers are pooled per key: reused after a failed open, never shared by two operations at once.</summary>
public sealed class BodyProtectorTests
{
    private readonly BodyProtector _protector = new(new Dictionary<string, byte[]> { ["k1"] = RandomNumberGenerator.GetBytes(32) }, "k1");

    [Fact]
    public void A_cipher_that_refused_a_tampered_body_opens_the_next_one()
    {
        var (stored, keyId) = _protector.Protect("{\"a\":1}"u8, "key-1", "conv-1");
        var tampered = (byte[])stored.Clone();
        tampered[^1] ^= 1;

        // Sequential calls take the same pooled cipher back each time.
        Assert.Equal(UnprotectResult.Tampered, _protector.TryUnprotect(tampered, keyId, "key-1", "conv-1", out _));
        Assert.Equal(UnprotectResult.Tampered, _protector.TryUnprotect(stored, keyId, "key-1", "conv-2", out _));
        Assert.Equal(UnprotectResult.Ok, _protector.TryUnprotect(stored, keyId, "key-1", "conv-1", out var body));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task Concurrent_seals_and_opens_each_get_their_own_body_back()
    {
        var failures = 0;
        await Parallel.ForAsync(0, 2_000, new ParallelOptions { MaxDegreeOfParallelism = 16 }, (i, _) =>
        {
            var plain = Encoding.UTF8.GetBytes($"{{\"message\":\"{new string('x', i % 700)}{i}\"}}");
            var (stored, keyId) = _protector.Protect(plain, $"key-{i}", $"conv-{i % 7}");
            if (_protector.TryUnprotect(stored, keyId, $"key-{i}", $"conv-{i % 7}", out var body) != UnprotectResult.Ok || !body.AsSpan().SequenceEqual(plain))
            {
                Interlocked.Increment(ref failures);
            }

            return ValueTask.CompletedTask;
        });

        Assert.Equal(0, failures);
    }
}
