using System.Data.Common;
using System.Threading.Channels;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The live lookup on a shared store (PostgreSQL), where every live event asks the table whether its key was answered
/// (on any replica) and what holds its conversation: the lookups that arrive while one statement is out go together in
/// the next, over arrays, on one kept connection. With a round trip per event, store-and-forward with OCP® healthy ran
/// ~5,500 events/s at ~114 µs of the gateway's CPU per event (on one core with the server, 32 callers); batched,
/// ~12,800/s at ~50 µs (bench/load.sh SF_STORE=postgres AB_MODE=StoreAndForward).
/// A batch that fails, or takes longer than <see cref="DeliveryOptions.LookupTimeout"/> (then it is cancelled), fails each
/// of its lookups (the caller then forwards without the store, as for any lookup that fails) and the next opens a new
/// connection.
/// </summary>
/// <remarks>
/// Written by hand for the same reason as <see cref="GroupCommit"/>: no served library gathers ADO.NET reads into one
/// statement with a result per caller.
/// </remarks>
internal sealed class LookupBatcher : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<CancellationToken, Task<DbConnection>> _open;
    private readonly Func<DbConnection, DbCommand> _command;
    private readonly TimeSpan _timeout;
    private readonly Task _reader;

    /// <param name="open">Opens a connection for the batches (kept until one fails).</param>
    /// <param name="command">The lookup on that connection, its four parameters the arrays of keys, event times, window
    /// starts and conversations: a row per element, in order, with the earlier answer's status and id (nulls when none)
    /// and what holds the conversation (null when nothing).</param>
    /// <param name="timeout">How long a batch may take (<see cref="DeliveryOptions.LookupTimeout"/>, rounded up to whole
    /// seconds): then the driver cancels it and its lookups fail, as for a store that failed.</param>
    public LookupBatcher(Func<CancellationToken, Task<DbConnection>> open, Func<DbConnection, DbCommand> command, TimeSpan timeout)
    {
        (_open, _command, _timeout) = (open, command, timeout);
        _reader = Task.Run(ReadAsync);
    }

    private long _batches;

    /// <summary>Statements run or tried since start (a test's view of batching).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    public Task<((int Status, long? Id)? Earlier, string? Blocking)> LookupAsync(string key, long eventAt, long since, string conversationId)
    {
        var pending = new Pending(key, eventAt, since, conversationId);
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.TrySetException(new InvalidOperationException("The delivery store is closed."));
        }

        return pending.Task;
    }

    private async Task ReadAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(MaxBatch);
        DbConnection? connection = null;
        DbCommand? command = null;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            Interlocked.Increment(ref _batches);
            try
            {
                if (command is null)
                {
                    connection = await _open(CancellationToken.None).ConfigureAwait(false);
                    command = _command(connection);
                    // The driver's own timeout (whole seconds): Npgsql cancels the statement on the server and fails it,
                    // with no timer or token of ours per batch.
                    command.CommandTimeout = (int)Math.Ceiling(_timeout.TotalSeconds);
                }

                command.Parameters[0].Value = batch.Select(p => p.Key).ToArray();
                command.Parameters[1].Value = batch.Select(p => p.EventAt).ToArray();
                command.Parameters[2].Value = batch.Select(p => p.Since).ToArray();
                command.Parameters[3].Value = batch.Select(p => p.ConversationId).ToArray();
                await using (var rows = await command.ExecuteReaderAsync().ConfigureAwait(false))
                {
                    var next = 0;
                    while (next < batch.Count && await rows.ReadAsync().ConfigureAwait(false))
                    {
                        (int, long?)? earlier = rows.IsDBNull(0) ? null : (rows.GetInt32(0), rows.IsDBNull(1) ? null : rows.GetInt64(1));
                        var blocking = rows.IsDBNull(2) ? null : rows.GetString(2) == DeliveryStates.Dead ? DeliveryStates.Dead : DeliveryStates.Pending;
                        batch[next++].TrySetResult((earlier, blocking));
                    }

                    if (next < batch.Count)
                    {
                        throw new InvalidOperationException($"The lookup batch returned {next} rows for {batch.Count} events.");
                    }
                }
            }
            catch (Exception ex)
            {
                // A store that does not answer in time (the driver's timeout: a DbException) is one that failed: its
                // callers go on without it.
                foreach (var pending in batch)
                {
                    pending.TrySetException(ex);
                }

                await CloseAsync(command, connection).ConfigureAwait(false);
                (command, connection) = (null, null);
            }

            batch.Clear();
        }

        await CloseAsync(command, connection).ConfigureAwait(false);
    }

    private static async Task CloseAsync(DbCommand? command, DbConnection? connection)
    {
        try
        {
            if (command is not null)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }

            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
        {
            // A connection that broke closes as well as it can; the next batch opens another.
        }
    }

    /// <summary>Stops taking lookups, answers those queued, and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _reader.ConfigureAwait(false);
    }

    private sealed class Pending(string key, long eventAt, long since, string conversationId)
        : TaskCompletionSource<((int Status, long? Id)? Earlier, string? Blocking)>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public string Key { get; } = key;

        public long EventAt { get; } = eventAt;

        public long Since { get; } = since;

        public string ConversationId { get; } = conversationId;
    }
}
