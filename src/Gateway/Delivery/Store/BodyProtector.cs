using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.ObjectPool;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Encrypts the bodies the store keeps with AES-256-GCM (<see cref="AesGcm"/>): a fresh 12-byte nonce per
/// row, the 16-byte tag, and the row's idempotency key and conversation id as associated data, so a body
/// copied to another row does not decrypt. The stored bytes are <c>nonce ‖ tag ‖ ciphertext</c>; the key id
/// is a column of the row. Keys come from <c>Gateway:Delivery:EncryptionKeys:&lt;id&gt;</c>; new rows use
/// <c>ActiveEncryptionKey</c>, older rows decrypt with whichever key they name. Only the store calls this: the
/// live step and the worker never see ciphertext.
/// </summary>
internal sealed class BodyProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly Dictionary<string, byte[]> _keys;

    // One pool of ciphers per key: an AesGcm is an OpenSSL context with the key schedule done, meant to be reused for many
    // operations but not by two at once; setting one up per body cost more than sealing it (BodyProtectorBenchmarks).
    private readonly Dictionary<string, ObjectPool<AesGcm>> _ciphers;

    public BodyProtector(IReadOnlyDictionary<string, byte[]> keys, string? activeKeyId)
    {
        _keys = new Dictionary<string, byte[]>(keys, StringComparer.Ordinal);
        ActiveKeyId = activeKeyId is not null && _keys.ContainsKey(activeKeyId) ? activeKeyId : null;
        var pools = new DefaultObjectPoolProvider();
        _ciphers = _keys.ToDictionary(k => k.Key, k => pools.Create(new CipherPolicy(k.Value)), StringComparer.Ordinal);
    }

    /// <summary>No keys: bodies stored as they are (Development without a key, and tests of other behaviour).</summary>
    public static readonly BodyProtector Plaintext = new(new Dictionary<string, byte[]>(), null);

    /// <summary>The key new rows are encrypted with; null stores plaintext (allowed in Development only).</summary>
    public string? ActiveKeyId { get; }

    /// <summary>The ids of the keys this process holds.</summary>
    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    /// <summary>From the options; keys that are not valid base64 of 32 bytes are left out (the validator refuses them at start).</summary>
    public static BodyProtector From(DeliveryOptions options)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (id, text) in options.EncryptionKeys)
        {
            if (TryDecodeKey(text, out var key))
            {
                keys[id] = key;
            }
        }

        return new BodyProtector(keys, string.IsNullOrWhiteSpace(options.ActiveEncryptionKey) ? null : options.ActiveEncryptionKey);
    }

    /// <summary>True when <paramref name="text"/> is base64 of exactly 32 bytes.</summary>
    public static bool TryDecodeKey(string? text, out byte[] key)
    {
        key = [];
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text.Trim(), buffer, out var written) || written != 32)
        {
            return false;
        }

        key = buffer[..32];
        return true;
    }

    /// <summary>A short fingerprint of a key (the first 8 hex digits of its SHA-256), safe to log: never the key.</summary>
    public string Fingerprint(string keyId) =>
        _keys.TryGetValue(keyId, out var key) ? Convert.ToHexStringLower(SHA256.HashData(key))[..8] : "missing";

    /// <summary>True when this process holds the key <paramref name="keyId"/>.</summary>
    public bool Has(string keyId) => _keys.ContainsKey(keyId);

    /// <summary>The bytes to store for <paramref name="body"/> and the key id to store beside them (null: plaintext).</summary>
    public (byte[] Stored, string? KeyId) Protect(ReadOnlySpan<byte> body, string idempotencyKey, string conversationId)
    {
        if (ActiveKeyId is not { } id)
        {
            return (body.ToArray(), null);
        }

        var stored = new byte[NonceSize + TagSize + body.Length];
        RandomNumberGenerator.Fill(stored.AsSpan(0, NonceSize));
        var data = AssociatedData(idempotencyKey, conversationId, out var length);
        try
        {
            var ciphers = _ciphers[id];
            var aes = ciphers.Get();
            try
            {
                aes.Encrypt(stored.AsSpan(0, NonceSize), body, stored.AsSpan(NonceSize + TagSize), stored.AsSpan(NonceSize, TagSize), data.AsSpan(0, length));
            }
            finally
            {
                ciphers.Return(aes);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }

        return (stored, id);
    }

    /// <summary>
    /// The body of a stored row: <see cref="UnprotectResult.Ok"/> with the plaintext, <see cref="UnprotectResult.MissingKey"/>
    /// when the row names a key this process does not hold (the row must be kept), or <see cref="UnprotectResult.Tampered"/>
    /// when the bytes do not decrypt under their row's associated data (changed, or moved from another row).
    /// </summary>
    public UnprotectResult TryUnprotect(byte[] stored, string? keyId, string idempotencyKey, string conversationId, out byte[] body)
    {
        body = [];
        if (keyId is null)
        {
            body = stored;
            return UnprotectResult.Ok;
        }

        if (!_ciphers.TryGetValue(keyId, out var ciphers))
        {
            return UnprotectResult.MissingKey;
        }

        if (stored.Length < NonceSize + TagSize)
        {
            return UnprotectResult.Tampered;
        }

        var plain = new byte[stored.Length - NonceSize - TagSize];
        var data = AssociatedData(idempotencyKey, conversationId, out var length);
        var aes = ciphers.Get();
        try
        {
            aes.Decrypt(stored.AsSpan(0, NonceSize), stored.AsSpan(NonceSize + TagSize), stored.AsSpan(NonceSize, TagSize), plain, data.AsSpan(0, length));
        }
        catch (AuthenticationTagMismatchException)
        {
            // The cipher is left as it was (a failed open changes no state of it): it goes back to the pool.
            return UnprotectResult.Tampered;
        }
        finally
        {
            ciphers.Return(aes);
            ArrayPool<byte>.Shared.Return(data);
        }

        body = plain;
        return UnprotectResult.Ok;
    }

    /// <summary>Makes a key's ciphers for its pool; every cipher goes back to it (none is left in a state of its own).</summary>
    private sealed class CipherPolicy(byte[] key) : PooledObjectPolicy<AesGcm>
    {
        public override AesGcm Create() => new(key, TagSize);

        public override bool Return(AesGcm obj) => true;
    }

    /// <summary>The row's identity as associated data, in a pooled array: UTF-8 idempotency key, a zero byte, UTF-8 conversation id.</summary>
    private static byte[] AssociatedData(string idempotencyKey, string conversationId, out int length)
    {
        length = Encoding.UTF8.GetByteCount(idempotencyKey) + 1 + Encoding.UTF8.GetByteCount(conversationId);
        var data = ArrayPool<byte>.Shared.Rent(length);
        var written = Encoding.UTF8.GetBytes(idempotencyKey, data);
        data[written] = 0;
        Encoding.UTF8.GetBytes(conversationId, data.AsSpan(written + 1));
        return data;
    }
}
