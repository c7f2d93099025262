using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The SQLite store's own write thread: writes run there, one at a time and in the order asked, their outcome (a
/// result or an error) reaches the caller, and the caller carries on away from it.
/// </summary>
public sealed class WriterThreadTests
{
    private const string Name = "test writer";

    [Fact]
    public async Task Writes_run_on_the_thread_one_after_another_in_order_and_callers_resume_elsewhere()
    {
        using var writer = new WriterThread(Name);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ran = new List<(int Write, string? Thread)>();
        var inside = 0;
        var overlapped = false;

        async Task<int> Write(int n, Task until)
        {
            overlapped |= Interlocked.Increment(ref inside) > 1;
            lock (ran)
            {
                ran.Add((n, Thread.CurrentThread.Name));
            }

            await until;
            Interlocked.Decrement(ref inside);
            return n;
        }

        // The first write waits for something that has not happened: the ones queued behind it wait too.
        var first = writer.RunAsync(() => Write(1, held.Task));
        var second = writer.RunAsync(() => Write(2, Task.CompletedTask));
        var third = writer.RunAsync(() => Write(3, Task.CompletedTask));
        Assert.False(second.IsCompleted);
        held.SetResult();

        Assert.Equal(1, await first);
        Assert.NotEqual(Name, Thread.CurrentThread.Name);
        Assert.Equal(2, await second);
        Assert.Equal(3, await third);
        Assert.NotEqual(Name, Thread.CurrentThread.Name);
        Assert.False(overlapped);
        Assert.Equal([(1, Name), (2, Name), (3, Name)], ran);
    }

    [Fact]
    public async Task A_write_that_fails_fails_its_caller_and_the_next_write_still_runs()
    {
        using var writer = new WriterThread(Name);

        var failed = writer.RunAsync<int>(() => throw new InvalidOperationException("disk full"));
        var faulted = writer.RunAsync<int>(async () =>
        {
            await Task.Yield();
            throw new TimeoutException("busy");
        });

        Assert.Equal("disk full", (await Assert.ThrowsAsync<InvalidOperationException>(() => failed)).Message);
        Assert.Equal("busy", (await Assert.ThrowsAsync<TimeoutException>(() => faulted)).Message);
        Assert.Equal(Name, await writer.RunAsync(() => Task.FromResult(Thread.CurrentThread.Name)));
    }

    [Fact]
    public async Task A_write_asked_for_by_a_write_runs_at_once_and_after_disposal_writes_run_on_the_callers_thread()
    {
        var writer = new WriterThread(Name);
        var nested = await writer.RunAsync(() => writer.RunAsync(() => Task.FromResult(Thread.CurrentThread.Name)));
        Assert.Equal(Name, nested);

        writer.Dispose();
        var caller = Environment.CurrentManagedThreadId;
        Assert.Equal(caller, await writer.RunAsync(() => Task.FromResult(Environment.CurrentManagedThreadId)));
    }
}
