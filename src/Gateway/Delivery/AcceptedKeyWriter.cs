using System.Collections.Concurrent;
using System.Threading.Channels;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Remembers the keys of events OCP® took directly, off the response path: queued in memory and
/// written in batches. Until written, <see cref="Find"/> answers from memory, so a quick resend is
/// still recognised; a crash loses only unwritten keys (OCP® may then see a repeat, under the same key).
/// </summary>
internal sealed class AcceptedKeyWriter(IDeliveryStore store, StoreHealth health, TimeProvider time, ILogger<AcceptedKeyWriter> logger) : BackgroundService
{
    private const int BatchSize = 256;

    // Gather keys this long before a write: one commit per 100 ms under load instead of one per few
    // events (each commit a disk sync that also holds SQLite's single write lock; measured: the
    // store-and-forward gateway at 0.43x direct mode with small batches).
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(100);
    private readonly Channel<AcceptedKey> _queue =
        Channel.CreateBounded<AcceptedKey>(new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly ConcurrentDictionary<string, int> _unwritten = new(StringComparer.Ordinal);

    public void Add(string key, long eventAt, int status, DateTimeOffset at)
    {
        _unwritten[key] = status;
        _queue.Writer.TryWrite(new AcceptedKey(key, eventAt, status, at));
    }

    public (int Status, long? Id)? Find(string key) => _unwritten.TryGetValue(key, out var status) ? (status, null) : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AcceptedKey>(BatchSize);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                if (_queue.Reader.Count < BatchSize)
                {
                    await Task.Delay(Linger, time, stoppingToken);
                }

                await WriteAvailableAsync(batch, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: write what is queued, then stop.
            await WriteAvailableAsync(batch, CancellationToken.None);
        }
    }

    private async Task WriteAvailableAsync(List<AcceptedKey> batch, CancellationToken cancellationToken)
    {
        while (_queue.Reader.TryRead(out var item))
        {
            batch.Add(item);
            if (batch.Count == BatchSize)
            {
                await FlushAsync(batch, cancellationToken);
            }
        }

        await FlushAsync(batch, cancellationToken);
    }

    private async Task FlushAsync(List<AcceptedKey> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            await store.RecordKeysAsync(batch, cancellationToken);
            health.Succeeded();
        }
        catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
        {
            health.Failed(ex);
            DeliveryLog.StoreFailed(logger, "record keys", ex.Message);
        }

        foreach (var accepted in batch)
        {
            _unwritten.TryRemove(accepted.Key, out _);
        }

        batch.Clear();
    }
}
