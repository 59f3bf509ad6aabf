/* Inside the WinUSB driver: the objects behind the handles and the engine's shared helpers.
 * One mutex per device (dev->lock) guards every interface, pipe and request of it; the
 * engine drops it around every call into the backend and every completion callback. */
#ifndef OWU_DRIVERS_WINUSB_PRIV_H
#define OWU_DRIVERS_WINUSB_PRIV_H

#include <pthread.h>

#include "core/clock.h"
#include "drivers/winusb/winusb_drv.h"

#define WU_PIPES 32   /* endpoint addresses 0x01..0x0F, 0x81..0x8F by (num | in << 4) */

enum wu_req_state {
    WU_REQ_QUEUED = 0,     /* waiting for its turn */
    WU_REQ_ACTIVE,         /* started: an URB in flight or about to be submitted */
    WU_REQ_WAIT_RESET,     /* failed; held until AUTO_CLEAR_STALL's reset finishes */
    WU_REQ_DONE,           /* finished; delivered in order */
};

struct wu_policy {
    bool short_packet_terminate;
    bool auto_clear_stall;
    uint32_t timeout_ms;
    bool ignore_short_packets;
    bool allow_partial_reads;
    bool auto_flush;
    bool raw_io;
    uint32_t max_transfer;
    bool reset_pipe_on_resume;
};

struct owu_winusb_pipe {
    struct owu_winusb_intf *intf;
    uint8_t address;
    enum owu_xfer_type type;
    bool present;                  /* in the current alternate setting (pipe 0: always) */
    uint16_t max_packet;
    uint8_t interval;
    uint32_t bytes_per_interval;
    struct wu_policy policy;

    struct owu_winusb_req *head, *tail;   /* requests not yet delivered, in order */
    uint64_t next_seq;
    bool running, rerun;           /* one thread at a time submits and delivers */
    unsigned delivering;           /* completion callbacks running now */
    bool halted;                   /* stall seen without AUTO_CLEAR_STALL */
    bool resetting;                /* AUTO_CLEAR_STALL reset queued or running */
    bool reset_queued;
    bool waiting_power;            /* a submission waits for the device to resume */
    struct owu_winusb_pipe *reset_next;   /* worker's reset list */

    uint8_t *surplus;              /* ALLOW_PARTIAL_READS without AUTO_FLUSH: saved bytes */
    size_t surplus_len, surplus_cap;

    /* Isochronous stream position. */
    bool iso_stream;
    uint32_t iso_next_frame;
};

struct owu_winusb_intf {
    struct owu_winusb_dev *dev;
    unsigned index;
    const struct owu_interface *desc;
    uint8_t cur_alt;
    bool handed_out;
    bool changing_alt;
    struct owu_winusb_pipe ctrl;
    struct owu_winusb_pipe pipes[WU_PIPES];
};

enum wu_pm_state { WU_PM_ACTIVE = 0, WU_PM_SUSPENDED, WU_PM_TRANSITION };

struct owu_winusb_dev {
    struct owu_usb_device *udev;
    struct owu_devinfo *info;
    struct owu_config *config;
    uint8_t device_desc[18];
    int refcount;

    pthread_mutex_t lock;
    pthread_cond_t cond;           /* request delivered, power state changed, buffer idle */
    struct owu_winusb_intf *intfs;
    unsigned num_intfs;

    /* Power. */
    struct owu_winusb_power_defaults pdef;
    bool auto_suspend;
    uint32_t suspend_delay_ms;
    enum wu_pm_state pm_state;
    unsigned pm_busy;              /* power-managed requests and API operations under way */
    unsigned pm_submitting;        /* threads inside owu_urb_submit */
    bool resume_wanted;
    uint64_t last_activity_ns;
    unsigned suspends, resumes;

    /* Worker. */
    pthread_t worker;
    bool worker_started;
    bool stopping;
    pthread_cond_t worker_cond;
    struct owu_winusb_pipe *reset_head;
};

static inline unsigned wu_pipe_slot(uint8_t address)
{
    return (address & 0x0Fu) | ((address & 0x80u) ? 16u : 0u);
}

/* The pipe of an interface by PipeID: 0 = control pipe; NULL when not present. */
struct owu_winusb_pipe *wu_pipe_find(struct owu_winusb_intf *intf, uint8_t pipe_id);
void wu_policy_defaults(struct owu_winusb_pipe *p);
bool wu_pipe_is_in(const struct owu_winusb_pipe *p);

/* The engine (winusb_pipe.c); all with dev->lock held (they may drop and retake it). */
void wu_pipe_run(struct owu_winusb_pipe *p);
/* Requests not yet delivered on the pipe. */
bool wu_pipe_idle(const struct owu_winusb_pipe *p);
/* Called by the worker when an AUTO_CLEAR_STALL reset finished. */
void wu_pipe_reset_done(struct owu_winusb_pipe *p);
/* Queues a request that passed its checks (isochronous path); OWU_E_NODEV when gone. */
int wu_enqueue_locked(struct owu_winusb_pipe *p, struct owu_winusb_req *r);
/* An isochronous request using the buffer was delivered. */
void wu_isoch_done_locked(struct owu_winusb_isoch_buf *buf);
/* Aborts and waits (lock held on entry and exit). */
void wu_pipe_abort_locked(struct owu_winusb_pipe *p);

/* Power (winusb_power.c); lock held. */
bool wu_pm_may_submit(struct owu_winusb_dev *dev, struct owu_winusb_pipe *p);
void wu_pm_submit_done(struct owu_winusb_dev *dev);
void wu_pm_activity(struct owu_winusb_dev *dev);
/* An API thread that talks to the device outside the engine: wait until the device is
 * active and keep it so until put (lock NOT held). */
void wu_pm_get(struct owu_winusb_dev *dev);
void wu_pm_put(struct owu_winusb_dev *dev);
/* Worker (winusb_worker.c). */
int wu_worker_start(struct owu_winusb_dev *dev);
void wu_worker_stop(struct owu_winusb_dev *dev);
void wu_worker_kick(struct owu_winusb_dev *dev);     /* lock held */
void wu_worker_queue_reset(struct owu_winusb_pipe *p);   /* lock held */
/* Worker-side power steps (lock held; dropped inside). Returns true when it did something
 * (the caller re-evaluates), else *wait_until_ns is when to look again (0: when kicked). */
bool wu_pm_worker_step(struct owu_winusb_dev *dev, uint64_t *wait_until_ns);
void wu_pm_ensure_active_worker(struct owu_winusb_dev *dev);
/* Run every pipe that has work (after a resume). */
void wu_dev_kick_pipes(struct owu_winusb_dev *dev);

#endif
