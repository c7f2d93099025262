using System.Collections.Concurrent;
using System.Threading.Channels;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Remembers the keys of events OCP® took directly, off the response path: queued in memory and
/// written in batches. Until written, the store's own memory (SQLite) or <see cref="Find"/> answers, so a
/// quick resend is still recognised; a crash loses only unwritten keys (OCP® may then see a repeat, under
/// the same key). Keys whose write failed (the store away) stay answerable and are written again every
/// second until the store takes them, at most <see cref="MaxHeld"/> of them.
/// </summary>
internal sealed class AcceptedKeyWriter : BackgroundService
{
    // Up to ~10,000 keys/s a 100 ms linger gathers one batch; at 256 a gateway at 18,000 events/s committed 7 times per
    // linger (bench/load.sh AB_MODE=StoreAndForward: 1.014x rps, 0.991x CPU per event at 1024, within the rounds' noise).
    private const int BatchSize = 1024;

    /// <summary>Keys held for a store that is away (~200 bytes each: ~20 MB at most); the oldest go first.</summary>
    private const int MaxHeld = 100_000;
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(1);
    private readonly Queue<AcceptedKey> _failed = new();

    // Gather keys this long before a write: one commit per 100 ms under load instead of one per few
    // events (each commit a disk sync that also holds SQLite's single write lock; measured: the
    // store-and-forward gateway at 0.43x direct mode with small batches).
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(100);
    private readonly ConcurrentDictionary<string, int> _unwritten = new(StringComparer.Ordinal);
    private readonly Channel<AcceptedKey> _queue;
    private readonly IDeliveryStore _store;
    private readonly StoreHealth _health;
    private readonly TimeProvider _time;

    public AcceptedKeyWriter(IDeliveryStore store, StoreHealth health, TimeProvider time)
    {
        (_store, _health, _time) = (store, health, time);
        // A key dropped from a full queue (the store far behind) is forgotten here too, or it would stay forever.
        _queue = Channel.CreateBounded<AcceptedKey>(
            new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => _unwritten.TryRemove(dropped.Key, out _));
    }

    public void Add(string key, long eventAt, int status, DateTimeOffset at)
    {
        var accepted = new AcceptedKey(key, eventAt, status, at);
        var remembered = _store.Remember(accepted);
        if (!remembered)
        {
            _unwritten[key] = status;
        }

        _queue.Writer.TryWrite(accepted with { Remembered = remembered });
    }

    public (int Status, long? Id)? Find(string key) => _unwritten.TryGetValue(key, out var status) ? (status, null) : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AcceptedKey>(BatchSize);
        try
        {
            while (await WaitForWorkAsync(stoppingToken))
            {
                if (_queue.Reader.Count is > 0 and < BatchSize)
                {
                    await Task.Delay(Linger, _time, stoppingToken);
                }

                await RetryFailedAsync(batch, CancellationToken.None);
                await WriteAvailableAsync(batch, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: write what is queued, then stop.
            await WriteAvailableAsync(batch, CancellationToken.None);
        }
    }

    /// <summary>New keys, or (while some wait for a store that was away) the next retry: false when the queue is closed.</summary>
    private async Task<bool> WaitForWorkAsync(CancellationToken stoppingToken)
    {
        if (_failed.Count == 0)
        {
            return await _queue.Reader.WaitToReadAsync(stoppingToken);
        }

        using var retry = new CancellationTokenSource(RetryEvery, _time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, retry.Token);
        try
        {
            return await _queue.Reader.WaitToReadAsync(either.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return true;
        }
    }

    /// <summary>Writes the keys a failed write left, a batch at a time, until one fails again.</summary>
    private async Task RetryFailedAsync(List<AcceptedKey> batch, CancellationToken cancellationToken)
    {
        while (_failed.Count > 0)
        {
            while (batch.Count < BatchSize && _failed.TryDequeue(out var held))
            {
                batch.Add(held);
            }

            if (!await FlushAsync(batch, cancellationToken))
            {
                return;
            }
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

    /// <summary>Writes a batch; on a store failure keeps its keys answerable and for the next retry. False when it failed.</summary>
    private async Task<bool> FlushAsync(List<AcceptedKey> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return true;
        }

        try
        {
            await _store.RecordKeysAsync(batch, cancellationToken);
            _health.Succeeded();
        }
        catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
        {
            _health.Failed("record keys", ex);
            foreach (var accepted in batch)
            {
                _failed.Enqueue(accepted);
                // The store's own memory may not hold it (an older event, or PostgreSQL): this one answers resends.
                _unwritten.TryAdd(accepted.Key, accepted.Status);
            }

            while (_failed.Count > MaxHeld && _failed.TryDequeue(out var oldest))
            {
                _unwritten.TryRemove(oldest.Key, out _);
            }

            batch.Clear();
            return false;
        }

        foreach (var accepted in batch)
        {
            _unwritten.TryRemove(accepted.Key, out _);
        }

        batch.Clear();
        return true;
    }
}
