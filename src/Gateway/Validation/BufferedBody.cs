using System.Buffers;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// An event body held in a pooled array for the life of the request: parsed from it, then
/// forwarded from it, so the bytes OCP® receives are exactly the bytes Talkdesk sent.
/// </summary>
internal sealed class BufferedBody : IDisposable
{
    private byte[]? _buffer;

    private BufferedBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>The bytes, valid until the request ends.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>A read-only stream over the bytes, to hand to the forwarder.</summary>
    public Stream OpenRead() => new MemoryStream(_buffer ?? throw new ObjectDisposedException(nameof(BufferedBody)), 0, Length, writable: false);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A pooled copy of <paramref name="bytes"/> (tests and benchmarks).</summary>
    internal static BufferedBody From(ReadOnlySpan<byte> bytes)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(buffer);
        return new BufferedBody(buffer, bytes.Length);
    }

    /// <summary>
    /// Reads the whole body, or stops as soon as it passes <paramref name="maxBytes"/> (returns null):
    /// a declared Content-Length over the cap is refused before a byte is read, and an undeclared
    /// (chunked) body is never buffered past the cap.
    /// </summary>
    public static async ValueTask<BufferedBody?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > maxBytes)
        {
            return null;
        }

        // One byte of headroom past the cap tells "exactly at the cap" from "over it".
        var buffer = ArrayPool<byte>.Shared.Rent(declared is long length ? (int)length + 1 : Math.Min(4096, maxBytes + 1));
        var total = 0;
        try
        {
            while (true)
            {
                if (total == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, total).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(total), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                total += read;
                if (total > maxBytes)
                {
                    break;
                }
            }

            if (total > maxBytes)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return null;
            }

            return new BufferedBody(buffer, total);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }
}
