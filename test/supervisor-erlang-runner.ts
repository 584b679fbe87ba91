/**
 * Test fixture (not exported by the package): runs supervision
 * {@link Scenario}s on a real Erlang node with OTP's `supervisor`, and
 * returns the same normalized event lines as `runScenario` does on
 * Beamline. The Erlang module is written to a temporary directory,
 * compiled with `erlc` and run with `erl -noshell` (no distribution).
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Scenario, ScenarioStep } from './supervisor-fixtures.js';

const run = promisify(execFile);

/** The Erlang side of the conformance test: the same runner as `runScenario`, on OTP's supervisor. */
export const ERLANG_RUNNER = String.raw`
-module(sup_conf).
-behaviour(supervisor).
-export([main/1, init/1, start_child/3, child_loop/0, logger/2]).

main([In, Out]) ->
    logger:set_primary_config(level, none),
    {ok, Scenarios} = file:consult(In),
    Results = [run(S) || S <- Scenarios],
    Text = [[io_lib:format("== ~s~n", [Name]), [[E, "\n"] || E <- Events]] || {Name, Events} <- Results],
    ok = file:write_file(Out, Text),
    halt(0).

init({simple_one_for_one, Int, Per, [{_, Restart, Shutdown} | _], Log, Fail}) ->
    {ok, {#{strategy => simple_one_for_one, intensity => Int, period => Per},
          [#{id => template, start => {?MODULE, start_child, [Log, Fail]}, restart => Restart, shutdown => Shutdown}]}};
init({Strategy, Int, Per, Children, Log, Fail}) ->
    {ok, {#{strategy => Strategy, intensity => Int, period => Per},
          [spec(C, Log, Fail) || C <- Children]}}.

spec({Id, Restart, Shutdown}, Log, Fail) ->
    #{id => Id, start => {?MODULE, start_child, [Log, Fail, Id]}, restart => Restart, shutdown => Shutdown}.

start_child(Log, Fail, Id) ->
    case ets:lookup(Fail, Id) of
        [{Id, N}] when N > 0 ->
            ets:insert(Fail, {Id, N - 1}),
            Log ! {event, io_lib:format("startfail ~s boom", [Id])},
            {error, boom};
        _ ->
            Pid = spawn_link(fun ?MODULE:child_loop/0),
            %% Synchronous, so the logger monitors the child before anything can stop it.
            Ref = make_ref(),
            Log ! {start, Id, Pid, {self(), Ref}},
            receive {Ref, ok} -> ok end,
            {ok, Pid}
    end.

child_loop() ->
    receive {die, R} -> exit(R) end.

logger(Events, Pids) ->
    receive
        {start, Id, Pid, {From, Ref}} ->
            monitor(process, Pid),
            From ! {Ref, ok},
            logger([io_lib:format("start ~s", [Id]) | Events], Pids#{Id => Pid, Pid => Id});
        {'DOWN', _, process, Pid, R} ->
            case maps:get({waiter, Pid}, Pids, none) of none -> ok; W -> W ! {exited, Pid} end,
            logger([io_lib:format("exit ~s ~w", [maps:get(Pid, Pids), R]) | Events], Pids#{{dead, Pid} => true});
        {wait_exit, Pid, From} ->
            case maps:is_key({dead, Pid}, Pids) of
                true -> From ! {exited, Pid}, logger(Events, Pids);
                false -> logger(Events, Pids#{{waiter, Pid} => From})
            end;
        {event, E} ->
            logger([E | Events], Pids);
        {pid, Id, From} ->
            From ! {pid, maps:get(Id, Pids, undefined)},
            logger(Events, Pids);
        {running, From} ->
            Ids = lists:sort([Id || {Id, P} <- maps:to_list(Pids), is_atom(Id), is_process_alive(P)]),
            From ! {running, Ids},
            logger(Events, Pids);
        {get, From} ->
            From ! {events, lists:reverse(Events)}
    end.

pid_of(Log, Id) ->
    Log ! {pid, Id, self()},
    receive {pid, P} -> P end.

settle(Sup) ->
    case catch supervisor:which_children(Sup) of
        L when is_list(L) ->
            case lists:keymember(restarting, 2, L) of true -> settle(Sup); false -> ok end;
        _ -> ok
    end.

step({exit, Id, R}, Sup, Log, _Fail, _S) -> kill_wait(Sup, Log, pid_of(Log, Id), {die, R});
step({kill, Id}, Sup, Log, _Fail, _S) -> kill_wait(Sup, Log, pid_of(Log, Id), kill);
step({start_child, Id, _}, Sup, _Log, _Fail, simple_one_for_one) -> {ok, _} = supervisor:start_child(Sup, [Id]);
step({start_child, Id, Restart}, Sup, Log, Fail, _S) -> {ok, _} = supervisor:start_child(Sup, spec({Id, Restart, 5000}, Log, Fail));
step({terminate_child, Id}, Sup, Log, _Fail, simple_one_for_one) -> ok = supervisor:terminate_child(Sup, pid_of(Log, Id));
step({terminate_child, Id}, Sup, _Log, _Fail, _S) -> ok = supervisor:terminate_child(Sup, Id);
step({restart_child, Id}, Sup, _Log, _Fail, _S) -> {ok, _} = supervisor:restart_child(Sup, Id);
step({delete_child, Id}, Sup, _Log, _Fail, _S) -> ok = supervisor:delete_child(Sup, Id);
step({fail_starts, Id, N}, _Sup, _Log, Fail, _S) -> ets:insert(Fail, {Id, N}).

%% The supervisor is suspended until the logger has logged the child's exit,
%% so that exit is logged before anything the supervisor does about it.
kill_wait(Sup, Log, Pid, Msg) ->
    sys:suspend(Sup),
    case Msg of kill -> exit(Pid, kill); _ -> Pid ! Msg end,
    Log ! {wait_exit, Pid, self()},
    receive {exited, Pid} -> ok end,
    sys:resume(Sup).

run({Name, Strategy, Int, Per, Children, Steps}) ->
    process_flag(trap_exit, true),
    Log = spawn(fun() -> logger([], #{}) end),
    Fail = ets:new(fail, [public, set]),
    {ok, Sup} = supervisor:start_link(?MODULE, {Strategy, Int, Per, Children, Log, Fail}),
    case Strategy of
        simple_one_for_one -> [{ok, _} = supervisor:start_child(Sup, [Id]) || {Id, _, _} <- Children];
        _ -> ok
    end,
    SupMon = monitor(process, Sup),
    lists:foreach(fun(S) -> step(S, Sup, Log, Fail, Strategy), settle(Sup) end, Steps),
    case is_process_alive(Sup) of
        true ->
            Log ! {running, self()},
            Running = receive {running, Ids} -> Ids end,
            Rows = [io_lib:format("~w:~w", [Id, case is_pid(C) of true -> pid; false -> C end]) || {Id, C, _, _} <- supervisor:which_children(Sup)],
            Log ! {event, io_lib:format("children [~s]", [lists:join(",", Rows)])},
            Log ! {event, io_lib:format("running [~s]", [lists:join(",", [atom_to_list(I) || I <- Running])])},
            Log ! {event, "stop"},
            exit(Sup, shutdown);
        false -> ok
    end,
    receive {'DOWN', SupMon, process, Sup, R} -> Log ! {event, io_lib:format("sup exit ~w", [R])} end,
    receive {'EXIT', Sup, _} -> ok after 0 -> ok end,
    ets:delete(Fail),
    Log ! {get, self()},
    receive {events, Events} -> {Name, [lists:flatten(E) || E <- Events]} end.
`;

function erlShutdown(s: Scenario['children'][number]['shutdown']): string {
  return s === undefined ? '5000' : String(s);
}

function erlStep(step: ScenarioStep): string {
  if ('exit' in step) return `{exit, ${step.exit}, ${step.reason}}`;
  if ('kill' in step) return `{kill, ${step.kill}}`;
  if ('startChild' in step) return `{start_child, ${step.startChild}, ${step.restart ?? 'permanent'}}`;
  if ('terminateChild' in step) return `{terminate_child, ${step.terminateChild}}`;
  if ('restartChild' in step) return `{restart_child, ${step.restartChild}}`;
  if ('deleteChild' in step) return `{delete_child, ${step.deleteChild}}`;
  return `{fail_starts, ${step.failStarts}, ${step.times}}`;
}

/** The scenarios as Erlang terms, one per line, for `file:consult/1`. */
export function scenariosToErlang(scenarios: readonly Scenario[]): string {
  return scenarios
    .map((sc) => {
      const children = sc.children.map((c) => `{${c.id}, ${c.restart}, ${erlShutdown(c.shutdown)}}`).join(', ');
      return `{"${sc.name}", ${sc.strategy}, ${sc.intensity}, ${sc.period}, [${children}], [${sc.steps.map(erlStep).join(', ')}]}.`;
    })
    .join('\n');
}

/** Finds `erl` and `erlc` on the PATH; undefined when missing. */
export async function findErlang(): Promise<{ erl: string; erlc: string } | undefined> {
  try {
    const { stdout: erl } = await run('sh', ['-c', 'command -v erl']);
    const { stdout: erlc } = await run('sh', ['-c', 'command -v erlc']);
    if (erl.trim() === '' || erlc.trim() === '') return undefined;
    return { erl: erl.trim(), erlc: erlc.trim() };
  } catch {
    return undefined;
  }
}

/** Runs the scenarios on Erlang; returns the events of each scenario by name. */
export async function runOnErlang(tools: { erl: string; erlc: string }, scenarios: readonly Scenario[]): Promise<Map<string, string[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'beamline-sup-conf-'));
  try {
    await writeFile(join(dir, 'sup_conf.erl'), ERLANG_RUNNER);
    await writeFile(join(dir, 'scenarios.term'), scenariosToErlang(scenarios) + '\n');
    const env = { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' };
    await run(tools.erlc, ['sup_conf.erl'], { cwd: dir, env });
    await run(tools.erl, ['-noshell', '-pa', '.', '-run', 'sup_conf', 'main', 'scenarios.term', 'out.txt'], {
      cwd: dir,
      env,
      timeout: 120_000,
    });
    const text = await readFile(join(dir, 'out.txt'), 'utf8');
    const out = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of text.split('\n')) {
      if (line.startsWith('== ')) out.set(line.slice(3), (current = []));
      else if (line !== '' && current !== undefined) current.push(line);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
