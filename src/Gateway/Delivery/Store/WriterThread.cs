using System.Collections.Concurrent;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// A thread of its own for a store whose driver writes synchronously (Microsoft.Data.Sqlite runs its "async" calls
/// on the caller's thread): each write runs here, one after another, so a transaction of a thousand inserts holds this
/// thread, not one of the thread pool's few, and the requests waiting for the pool are not queued behind it. The
/// healthy store-and-forward path's p99, with the key writer's batches on pool threads: 7.6–9.5 ms, against 3.5 ms with
/// no key writes at all; with them here: 4.4 ms (paired by round 0.64×, same throughput and CPU; bench/load.sh
/// AB_MODE=StoreAndForward).
/// </summary>
/// <remarks>
/// Written by hand: Nito.AsyncEx's <c>AsyncContextThread</c> runs a caller's continuation on its own thread, under its
/// own synchronization context, so the caller would carry on there; here a caller always resumes on the pool.
/// </remarks>
internal sealed class WriterThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;

    public WriterThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>
    /// Runs <paramref name="write"/> on this thread, after the writes queued before it. What the write awaits that does
    /// not complete at once resumes on the pool, while this thread waits for it; the caller resumes on the pool. Once
    /// disposed, a write runs on the caller's thread.
    /// </summary>
    public Task<T> RunAsync<T>(Func<Task<T>> write)
    {
        if (Thread.CurrentThread == _thread)
        {
            return write(); // a write asked for by a write: waiting for its own turn would never end
        }

        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Work()
        {
            try
            {
                done.TrySetResult(write().GetAwaiter().GetResult());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }

        try
        {
            _work.Add(Work);
        }
        catch (InvalidOperationException)
        {
            // Shutting down: the store's last writes run where they are asked for.
            return write();
        }

        return done.Task;
    }

    private void Run()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }

    /// <summary>Runs the writes already queued, then ends the thread.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _work.Dispose();
    }
}
