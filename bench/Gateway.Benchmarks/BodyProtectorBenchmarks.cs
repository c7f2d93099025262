using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>What encryption at rest adds to parking an event and to redelivering it: one seal, one open, of a 500-byte body.</summary>
[MemoryDiagnoser]
public class BodyProtectorBenchmarks
{
    private const string IdempotencyKey = "d412f16770c2fa09dcd8ce03070191eb4cc8018f778f2149be901997fbeb0ba1";
    private const string ConversationId = "3b0c5c1a-6f1e-4c7e-9d2b-2f0e4c1a9b77";
    private readonly BodyProtector _protector = new(new Dictionary<string, byte[]> { ["k1"] = RandomNumberGenerator.GetBytes(32) }, "k1");
    private byte[] _body = [];
    private byte[] _stored = [];

    [GlobalSetup]
    public void Setup()
    {
        _body = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "message_created_500b.json"));
        _stored = _protector.Protect(_body, IdempotencyKey, ConversationId).Stored;
    }

    [Benchmark(Description = "Protect (park): AES-256-GCM seal, 500 B")]
    public byte[] Protect() => _protector.Protect(_body, IdempotencyKey, ConversationId).Stored;

    [Benchmark(Description = "TryUnprotect (redeliver): AES-256-GCM open, 500 B")]
    public byte[] Unprotect() =>
        _protector.TryUnprotect(_stored, "k1", IdempotencyKey, ConversationId, out var body) == UnprotectResult.Ok ? body : throw new InvalidOperationException("did not decrypt");
}
