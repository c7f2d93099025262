using CsCheck;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Tests.Validation;

/// <summary>
/// Every call of the gateway runs the validator at the same time as others: a verdict must not depend on
/// what the other threads evaluate (JsonSchema.Net keeps per-schema state while it evaluates).
/// </summary>
public sealed class ConcurrentVerdictTests
{
    [Fact]
    public void Verdicts_under_concurrency_equal_the_verdicts_one_at_a_time()
    {
        var catalog = FastPathValidatorTests.Catalog;
        var bodies = new List<byte[]>();
        FastPathValidatorTests.Mutated.Sample(bodies.Add, iter: 600, threads: 1);

        var expected = bodies.Select(b => Describe(EventValidator.ValidateEvent(b, catalog))).ToArray();
        Assert.Contains(expected, v => v.StartsWith("Valid", StringComparison.Ordinal));
        Assert.Contains(expected, v => v.StartsWith("SchemaViolation", StringComparison.Ordinal));

        for (var round = 0; round < 5; round++)
        {
            // A freshly loaded catalog each round (as at start-up or after a schema reload): its first
            // evaluations happen concurrently too.
            var fresh = SchemaRegistry.Compile(FastPathValidatorTests.ShippedOptions());
            var actual = new string[bodies.Count];
            Parallel.For(0, bodies.Count * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                var index = i % bodies.Count;
                actual[index] = Describe(EventValidator.ValidateEvent(bodies[index], fresh));
            });

            for (var i = 0; i < bodies.Count; i++)
            {
                Assert.True(expected[i] == actual[i], $"body {i}: alone {expected[i]}, concurrently {actual[i]}");
            }
        }
    }

    private static string Describe(Verdict verdict) =>
        verdict.Kind + ":" + string.Join(",", verdict.Violations.Select(v => v.Keyword + "@" + v.JsonPointer)) + ":" + verdict.Detail;
}
